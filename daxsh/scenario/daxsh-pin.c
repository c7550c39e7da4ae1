/*
 * daxsh-pin: the memory side of a script written by `daxsh export --sh`.
 *
 * One instance per process of the scenario.  It reads commands, one per line, on standard input
 * and does them in its own address space, so the mappings and pins live as long as it does:
 *
 *   mmap MODEL_ADDR FILE LEN OFF [sync] [private]   map FILE (MAP_SHARED, or MAP_SHARED_VALIDATE
 *                                                   | MAP_SYNC, or MAP_PRIVATE)
 *   touch MODEL_ADDR LEN [w]                        load (w: store) one byte of every page
 *   munmap MODEL_ADDR
 *   pin NAME MODEL_ADDR LEN                         pin the pages: an io_uring registered buffer
 *                                                   (pin_user_pages with FOLL_LONGTERM)
 *   dma NAME                                        "the device writes": IORING_OP_READ_FIXED
 *                                                   from /dev/zero into the pinned buffer,
 *                                                   through the pin, not the page tables
 *   unpin NAME                                      IORING_UNREGISTER_BUFFERS
 *   exit
 *
 * MODEL_ADDR is the address daxsh's model gave the mapping; the helper translates it to its own.
 * A kernel may refuse to register a file-backed mapping as a buffer (io_uring takes anonymous
 * and hugetlb memory only in many releases, and FOLL_LONGTERM pins of fsdax pages are refused
 * from v5.2 on): `pin` then prints the error and the script goes on.  The model's `pin` is the
 * short-term pin of a device's DMA (an RDMA or NVMe transfer in flight); reproducing that exactly
 * needs such a device, which is why the helper says what the kernel answered.  Built with no library:
 * cc -O2 -Wall -o daxsh-pin daxsh-pin.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#ifndef MAP_SYNC
#define MAP_SYNC 0x80000
#endif
#ifndef MAP_SHARED_VALIDATE
#define MAP_SHARED_VALIDATE 0x03
#endif

#define MAXMAPS 64
#define MAXPINS 64

struct map { unsigned long model; char *addr; size_t len; };
struct ring {
	char name[32]; int fd; char *buf; size_t len;
	unsigned *sq_tail, *sq_mask, *sq_array, *cq_head, *cq_tail, *cq_mask;
	struct io_uring_sqe *sqes; struct io_uring_cqe *cqes;
};

static struct map maps[MAXMAPS];
static struct ring pins[MAXPINS];

static char *real(unsigned long model, size_t len)
{
	for (int i = 0; i < MAXMAPS; i++)
		if (maps[i].addr && model >= maps[i].model && model + len <= maps[i].model + maps[i].len)
			return maps[i].addr + (model - maps[i].model);
	return NULL;
}

static int ring_setup(struct ring *r)
{
	struct io_uring_params p;
	memset(&p, 0, sizeof(p));
	r->fd = syscall(__NR_io_uring_setup, 4, &p);
	if (r->fd < 0)
		return -1;
	size_t sqsz = p.sq_off.array + p.sq_entries * sizeof(unsigned);
	size_t cqsz = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
	char *sq = mmap(NULL, sqsz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd,
			IORING_OFF_SQ_RING);
	char *cq = mmap(NULL, cqsz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd,
			IORING_OFF_CQ_RING);
	r->sqes = mmap(NULL, p.sq_entries * sizeof(struct io_uring_sqe), PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_SQES);
	if (sq == MAP_FAILED || cq == MAP_FAILED || r->sqes == MAP_FAILED)
		return -1;
	r->sq_tail = (unsigned *)(sq + p.sq_off.tail);
	r->sq_mask = (unsigned *)(sq + p.sq_off.ring_mask);
	r->sq_array = (unsigned *)(sq + p.sq_off.array);
	r->cq_head = (unsigned *)(cq + p.cq_off.head);
	r->cq_tail = (unsigned *)(cq + p.cq_off.tail);
	r->cq_mask = (unsigned *)(cq + p.cq_off.ring_mask);
	r->cqes = (struct io_uring_cqe *)(cq + p.cq_off.cqes);
	return 0;
}

static struct ring *pin_named(const char *name)
{
	for (int i = 0; i < MAXPINS; i++)
		if (pins[i].buf && !strcmp(pins[i].name, name))
			return &pins[i];
	return NULL;
}

static int do_dma(struct ring *r)
{
	int zero = open("/dev/zero", O_RDONLY);
	if (zero < 0)
		return -errno;
	unsigned tail = *r->sq_tail, idx = tail & *r->sq_mask;
	struct io_uring_sqe *sqe = &r->sqes[idx];
	memset(sqe, 0, sizeof(*sqe));
	sqe->opcode = IORING_OP_READ_FIXED;
	sqe->fd = zero;
	sqe->addr = (unsigned long)r->buf;
	sqe->len = r->len;
	sqe->buf_index = 0;
	r->sq_array[idx] = idx;
	__atomic_store_n(r->sq_tail, tail + 1, __ATOMIC_RELEASE);
	int ret = syscall(__NR_io_uring_enter, r->fd, 1, 1, IORING_ENTER_GETEVENTS, NULL, 0);
	if (ret < 0) {
		ret = -errno;
		close(zero);
		return ret;
	}
	unsigned head = __atomic_load_n(r->cq_head, __ATOMIC_ACQUIRE);
	int res = r->cqes[head & *r->cq_mask].res;
	__atomic_store_n(r->cq_head, head + 1, __ATOMIC_RELEASE);
	close(zero);
	return res;
}

int main(void)
{
	char line[4096], a[1024], c[64], d[64], e[64];
	long pg = sysconf(_SC_PAGESIZE);
	setvbuf(stdout, NULL, _IOLBF, 0);
	while (fgets(line, sizeof(line), stdin)) {
		unsigned long model, len, off;
		int n;
		if (sscanf(line, "mmap %lx %1023s %lu %lu %63s %63s", &model, a, &len, &off, d, e) >= 4) {
			int sync = strstr(line, " sync") != NULL, priv = strstr(line, " private") != NULL;
			int fd = open(a, O_RDWR);
			int flags = priv ? MAP_PRIVATE : sync ? (MAP_SHARED_VALIDATE | MAP_SYNC) : MAP_SHARED;
			char *p = fd < 0 ? MAP_FAILED : mmap(NULL, len, PROT_READ | PROT_WRITE, flags, fd, off);
			if (p == MAP_FAILED) {
				printf("mmap %s: %s\n", a, strerror(errno));
			} else {
				for (n = 0; n < MAXMAPS && maps[n].addr; n++)
					;
				if (n < MAXMAPS)
					maps[n] = (struct map){ model, p, len };
				printf("mmap %s: %p (model 0x%lx)\n", a, (void *)p, model);
			}
			if (fd >= 0)
				close(fd);
		} else if (sscanf(line, "touch %lx %lu %63s", &model, &len, c) >= 2) {
			int w = !strncmp(c, "w", 1) && strstr(line, " w") != NULL;
			volatile char *p = real(model, len);
			if (!p) {
				printf("touch 0x%lx: not mapped\n", model);
				continue;
			}
			for (unsigned long i = 0; i < len; i += pg) {
				if (w)
					p[i] = 'd';
				else
					(void)p[i];
			}
			printf("touched %lu pages\n", (len + pg - 1) / pg);
		} else if (sscanf(line, "munmap %lx", &model) == 1) {
			for (n = 0; n < MAXMAPS; n++)
				if (maps[n].addr && maps[n].model == model) {
					munmap(maps[n].addr, maps[n].len);
					maps[n].addr = NULL;
				}
		} else if (sscanf(line, "pin %31s %lx %lu", a, &model, &len) == 3) {
			a[31] = 0;
			struct iovec iov = { real(model, len), len };
			for (n = 0; n < MAXPINS && pins[n].buf; n++)
				;
			if (!iov.iov_base || n == MAXPINS || ring_setup(&pins[n]) < 0) {
				printf("pin %s: %s\n", a, iov.iov_base ? strerror(errno) : "not mapped");
				continue;
			}
			if (syscall(__NR_io_uring_register, pins[n].fd, IORING_REGISTER_BUFFERS, &iov, 1) < 0) {
				printf("pin %s: %s\n", a, strerror(errno));
				close(pins[n].fd);
				continue;
			}
			memcpy(pins[n].name, a, sizeof(pins[n].name));
			pins[n].buf = iov.iov_base;
			pins[n].len = len;
			printf("pin %s: %lu bytes pinned\n", a, len);
		} else if (sscanf(line, "dma %31s", a) == 1) {
			struct ring *r = pin_named(a);
			int res = r ? do_dma(r) : -ENOENT;
			printf("dma %s: %s\n", a, res < 0 ? strerror(-res) : "written");
		} else if (sscanf(line, "unpin %31s", a) == 1) {
			struct ring *r = pin_named(a);
			if (r) {
				syscall(__NR_io_uring_register, r->fd, IORING_UNREGISTER_BUFFERS, NULL, 0);
				close(r->fd);
				r->buf = NULL;
			}
			printf("unpin %s\n", a);
		} else if (!strncmp(line, "exit", 4)) {
			return 0;
		}
	}
	return 0;
}
