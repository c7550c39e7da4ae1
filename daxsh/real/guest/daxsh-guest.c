/*
 * daxsh-guest: runs the steps of a daxsh scenario inside a QEMU guest, on a real kernel, and
 * reports each step's result on the second serial port (/dev/ttyS1) for the host to parse.
 *
 *   daxsh-guest STEPS-FILE PFN-DEVICE
 *
 * STEPS-FILE holds one step a line, already checked and translated by the host
 * (daxsh/real/plan.py):  NUMBER BACKGROUND(0|1) OP ARG...   (numbers are decimal bytes)
 *
 *   mkfs TYPE [OPTION ...]          mkfs.TYPE on /dev/pmem0 (options passed through)
 *   mount DIR FSTYPE OPTIONS        mount(2) /dev/pmem0 on DIR
 *   umount DIR                      umount(2)
 *   proc NAME                       switch to process NAME, forking it if new
 *   exit NAME                       process NAME exits (its mappings go)
 *   kill SIG NAME|%JOB              kill(2)
 *   create PATH SIZE | write PATH OFF LEN | read PATH OFF LEN | truncate PATH SIZE
 *   punch PATH OFF LEN | rm PATH | mkdir PATH | chattr +x|-x PATH | sync | drop_caches
 *   mmap PATH LEN OFF ADDR PRIVATE(0|1)       in the current process, MAP_FIXED_NOREPLACE at ADDR
 *   munmap ADDR | touch ADDR LEN WRITE(0|1)   in the current process
 *   hwpoison ADDR                   madvise(MADV_HWPOISON) on that page, in the current process
 *   pin ADDR LEN                    the current process O_DIRECT-reads /dev/nbd0 into ADDR; the
 *                                   nbd server in this program holds the reply: the page is pinned
 *   dma PIN                         the held reply is sent with the device's data (0xdd): the data
 *                                   lands in the pinned page, the read returns, the pin goes
 *   unpin PIN                       without dma: the reply is an error (no data); waits for the read
 *   unbind | bind                   write PFN-DEVICE to /sys/bus/nd/drivers/nd_pmem/{unbind,bind}
 *   sleep SECONDS | jobs | wait [%JOB] | dmesg | check
 *
 * Every file written by a step holds one byte value of its own (assigned per path: 'a', 'b', ...);
 * the device's data is 0xdd.  A file holding a byte that is neither its own nor 0 was corrupted
 * (it reads data it was never written), which is how daxsh's model defines corruption.
 *
 * Protocol lines (one per line, on /dev/ttyS1):
 *   STEP N STATUS TEXT      STATUS: done, blocked, error, killed
 *   OUT N TEXT              output of step N
 *   JOB N STATUS TEXT       a job (background or blocked step N) ended, or still waits at the end
 *   KILLED NAME PID SIGNAL CODE     a process died by a signal
 *   CORRUPT PATH OFFSET BYTE COUNT  a file holds bytes it was never written
 *   DMESG TEXT              the kernel log at the end
 *   END
 * Build: gcc -static -O2 -pthread -o daxsh-guest daxsh-guest.c
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <linux/nbd.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PG 4096
#define MAXP 16
#define MAXF 64
#define MAXJ 32
#define MAXPIN 32
#define MAXMAP 16
#define DEVBYTE 0xdd
#define EXITED 255 /* a worker whose program failed with its own exit status (said in OUT) */
#define PINOFF(k) ((off_t)(k) << 20)

static FILE *proto;
static const char *pfndev;
static int cur_step;

static void say(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfprintf(proto, fmt, ap);
	va_end(ap);
	fputc('\n', proto);
	fflush(proto);
}

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static void msleep(int ms) { usleep(ms * 1000); }

static const char *errname(int e)
{
	static const struct { int e; const char *n; } t[] = {
		{EPERM, "EPERM"}, {ENOENT, "ENOENT"}, {EIO, "EIO"}, {ENXIO, "ENXIO"}, {EBADF, "EBADF"},
		{EAGAIN, "EAGAIN"}, {ENOMEM, "ENOMEM"}, {EACCES, "EACCES"}, {EFAULT, "EFAULT"},
		{EBUSY, "EBUSY"}, {EEXIST, "EEXIST"}, {ENODEV, "ENODEV"}, {ENOTDIR, "ENOTDIR"},
		{EISDIR, "EISDIR"}, {EINVAL, "EINVAL"}, {EFBIG, "EFBIG"}, {ENOSPC, "ENOSPC"},
		{EROFS, "EROFS"}, {ESRCH, "ESRCH"}, {EOPNOTSUPP, "EOPNOTSUPP"}, {EUCLEAN, "EUCLEAN"},
		{ENOTBLK, "ENOTBLK"}, {ETIMEDOUT, "ETIMEDOUT"}, {EINTR, "EINTR"}, {ENOTTY, "ENOTTY"},
		{ESHUTDOWN, "ESHUTDOWN"}, {0, NULL}};
	for (int i = 0; t[i].n; i++)
		if (t[i].e == e) return t[i].n;
	return "E?";
}

static const char *codename(int sig, int code)
{
	if (sig != SIGBUS) return "-";
	switch (code) {
	case BUS_ADRALN: return "BUS_ADRALN";
	case BUS_ADRERR: return "BUS_ADRERR";
	case BUS_OBJERR: return "BUS_OBJERR";
	case BUS_MCEERR_AR: return "BUS_MCEERR_AR";
	case BUS_MCEERR_AO: return "BUS_MCEERR_AO";
	}
	return "SI_USER";
}

/* ---- state shared with the forked processes (MAP_SHARED anonymous) ---- */
struct pinst {
	int used, started, held, replied, done;
	long ret;
	int err;
	uint64_t handle;
	int len;
};
struct shared {
	struct pinst pin[MAXPIN];
	int sigcode[MAXP];   /* si_code of the last SIGBUS a process server caught */
	unsigned long sigaddr[MAXP];
};
static struct shared *sh;

/* ---- files and their byte ---- */
struct file { char path[256]; int byte; };
static struct file files[MAXF];
static int nfiles;

static int file_byte(const char *path)
{
	for (int i = 0; i < nfiles; i++)
		if (!strcmp(files[i].path, path)) return files[i].byte;
	if (nfiles == MAXF) return 'z';
	snprintf(files[nfiles].path, sizeof files[nfiles].path, "%s", path);
	files[nfiles].byte = 'a' + nfiles % 26;
	return files[nfiles++].byte;
}

/* ---- process servers ---- */
struct map { unsigned long addr, len; off_t off; char path[256]; };
struct proc {
	char name[32];
	pid_t pid;
	int cmd_w, rep_r;
	int alive;
	struct map maps[MAXMAP];
	int nmaps;
};
static struct proc procs[MAXP];
static int nprocs, cur = -1;

/* ---- jobs ---- */
struct job { int step; pid_t pid; int proc; char what[64]; int active; };
static struct job jobs[MAXJ];
static int njobs;

/* ---- nbd server ---- */
static int nbd_sock, nbd_fd;
static pthread_mutex_t nbd_mu = PTHREAD_MUTEX_INITIALIZER;

static int full_read(int s, void *p, size_t n)
{
	for (size_t d = 0; d < n;) {
		ssize_t r = read(s, (char *)p + d, n - d);
		if (r <= 0) return -1;
		d += r;
	}
	return 0;
}

static int full_write(int s, const void *p, size_t n)
{
	for (size_t d = 0; d < n;) {
		ssize_t r = write(s, (const char *)p + d, n - d);
		if (r <= 0) return -1;
		d += r;
	}
	return 0;
}

static void nbd_reply(uint64_t handle, int error, const void *data, int len)
{
	struct nbd_reply rp;
	memset(&rp, 0, sizeof rp);
	rp.magic = htobe32(NBD_REPLY_MAGIC);
	rp.error = htobe32(error);
	memcpy(rp.handle, &handle, sizeof rp.handle);
	pthread_mutex_lock(&nbd_mu);
	full_write(nbd_sock, &rp, sizeof rp);
	if (!error && data) full_write(nbd_sock, data, len);
	pthread_mutex_unlock(&nbd_mu);
}

static void *nbd_doit(void *a)
{
	(void)a;
	ioctl(nbd_fd, NBD_DO_IT);
	return NULL;
}

static void *nbd_serve(void *a)
{
	static char data[1 << 17];
	(void)a;
	for (;;) {
		struct nbd_request rq;
		if (full_read(nbd_sock, &rq, sizeof rq)) return NULL;
		uint32_t type = be32toh(rq.type) & 0xffff, len = be32toh(rq.len);
		uint64_t from = be64toh(rq.from), handle;
		memcpy(&handle, rq.handle, sizeof handle);
		if (len > sizeof data) return NULL;
		if (type == NBD_CMD_WRITE) {
			if (full_read(nbd_sock, data, len)) return NULL;
			nbd_reply(handle, 0, NULL, 0);
		} else if (type == NBD_CMD_READ) {
			int k = (int)(from >> 20);
			if (from && k > 0 && k < MAXPIN && sh->pin[k].used && !sh->pin[k].held) {
				sh->pin[k].handle = handle;
				sh->pin[k].len = len;
				__atomic_store_n(&sh->pin[k].held, 1, __ATOMIC_SEQ_CST);
			} else {
				memset(data, 0, len);
				nbd_reply(handle, 0, data, len);
			}
		} else if (type == NBD_CMD_DISC) {
			return NULL;
		} else {
			nbd_reply(handle, 0, NULL, 0);
		}
	}
}

static int nbd_start(void)
{
	int sv[2];
	pthread_t a, b;
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv)) return -1;
	nbd_fd = open("/dev/nbd0", O_RDWR);
	if (nbd_fd < 0) return -1;
	if (ioctl(nbd_fd, NBD_SET_BLKSIZE, 4096UL) || ioctl(nbd_fd, NBD_SET_SIZE_BLOCKS, 16384UL) ||
	    ioctl(nbd_fd, NBD_SET_SOCK, (unsigned long)sv[0]))
		return -1;
	nbd_sock = sv[1];
	pthread_create(&a, NULL, nbd_doit, NULL);
	pthread_create(&b, NULL, nbd_serve, NULL);
	msleep(300);
	return 0;
}

/* ---- task state, from /proc ---- */
static char task_state(pid_t pid)
{
	char p[64], buf[512];
	snprintf(p, sizeof p, "/proc/%d/stat", pid);
	int fd = open(p, O_RDONLY);
	if (fd < 0) return 0;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0) return 0;
	buf[n] = 0;
	char *r = strrchr(buf, ')');
	return r && r[1] ? r[2] : 0;
}

static int any_thread_sleeping(pid_t pid)
{
	/* a process whose main thread keeps sleeping (S or D) is blocked, unless it is waiting for
	 * a program of its own (mkfs) that is still at work */
	char st = task_state(pid);
	if (st != 'S' && st != 'D') return 0;
	char p[64], kids[256];
	snprintf(p, sizeof p, "/proc/%d/task/%d/children", pid, pid);
	int fd = open(p, O_RDONLY);
	if (fd >= 0) {
		ssize_t n = read(fd, kids, sizeof kids - 1);
		close(fd);
		if (n > 0) return 0;
	}
	return 1;
}

/* where a task sleeps: its kernel stack without the scheduler frames */
static void wait_site(pid_t pid, char *out, size_t n)
{
	char p[64], buf[4096];
	snprintf(p, sizeof p, "/proc/%d/stack", pid);
	out[0] = 0;
	int fd = open(p, O_RDONLY);
	if (fd < 0) { snprintf(out, n, "(no /proc/%d/stack)", pid); return; }
	ssize_t r = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (r <= 0) { snprintf(out, n, "(empty stack)"); return; }
	buf[r] = 0;
	int frames = 0;
	char st = task_state(pid);
	snprintf(out, n, "[%c]", st ? st : '?');
	for (char *line = strtok(buf, "\n"); line && frames < 6; line = strtok(NULL, "\n")) {
		char *f = strchr(line, ']');
		if (!f) continue;
		f++;
		while (*f == ' ') f++;
		char name[96];
		int i = 0;
		while (f[i] && f[i] != '+' && f[i] != ' ' && i < 95) { name[i] = f[i]; i++; }
		name[i] = 0;
		if (strstr(name, "schedule") || !strncmp(name, "__x64_sys", 9) || !strcmp(name, "do_syscall_64") ||
		    !strncmp(name, "entry_SYSCALL", 13) || !strncmp(name, "x64_sys_call", 12))
			continue;
		size_t l = strlen(out);
		snprintf(out + l, n - l, "%s%s", frames ? " <- " : " ", name);
		frames++;
	}
}

/* ---- reaping ---- */
static void report_death(const char *name, pid_t pid, int status, int pi)
{
	if (WIFSIGNALED(status)) {
		int sig = WTERMSIG(status);
		int code = pi >= 0 && sig == SIGBUS ? sh->sigcode[pi] : 0;
		say("KILLED %s %d %s %s", name, pid, sigabbrev_np(sig) ? sigabbrev_np(sig) : "?",
		    codename(sig, code));
	}
}

/* collect every finished process server and job */
static void reap(void)
{
	for (int i = 0; i < nprocs; i++) {
		int status;
		if (!procs[i].alive) continue;
		if (waitpid(procs[i].pid, &status, WNOHANG) == procs[i].pid) {
			procs[i].alive = 0;
			report_death(procs[i].name, procs[i].pid, status, i);
			for (int j = 0; j < njobs; j++)
				if (jobs[j].active && jobs[j].proc == i && jobs[j].pid == procs[i].pid) {
					jobs[j].active = 0;
					say("JOB %d killed %s", jobs[j].step, WIFSIGNALED(status) ? sigabbrev_np(WTERMSIG(status)) : "exit");
				}
		}
	}
	for (int j = 0; j < njobs; j++) {
		/* a blocked command of a process server that has since answered */
		if (!jobs[j].active || jobs[j].proc < 0 || !procs[jobs[j].proc].alive) continue;
		struct pollfd pf = {procs[jobs[j].proc].rep_r, POLLIN, 0};
		char rep[512];
		if (poll(&pf, 1, 0) > 0) {
			ssize_t r = read(pf.fd, rep, sizeof rep - 1);
			jobs[j].active = 0;
			if (r > 0) {
				rep[r] = 0;
				rep[strcspn(rep, "\n")] = 0;
				if (!strncmp(rep, "ok", 2)) say("JOB %d done %s", jobs[j].step, jobs[j].what);
				else say("JOB %d error %s %s", jobs[j].step, errname(atoi(rep + 4)), jobs[j].what);
			}
		}
	}
	for (int j = 0; j < njobs; j++) {
		int status;
		if (!jobs[j].active || jobs[j].proc >= 0) continue;
		if (waitpid(jobs[j].pid, &status, WNOHANG) == jobs[j].pid) {
			jobs[j].active = 0;
			if (WIFSIGNALED(status))
				say("JOB %d killed SIG%s %s", jobs[j].step, sigabbrev_np(WTERMSIG(status)), jobs[j].what);
			else if (WEXITSTATUS(status))
				say("JOB %d error %s %s", jobs[j].step, errname(WEXITSTATUS(status)), jobs[j].what);
			else
				say("JOB %d done %s", jobs[j].step, jobs[j].what);
		}
	}
}

/* ---- workers: a forked task per blocking syscall ---- */
typedef int (*workfn)(char **argv);

static int add_job(int step, pid_t pid, int proc, const char *what)
{
	if (njobs == MAXJ) return -1;
	jobs[njobs] = (struct job){step, pid, proc, "", 1};
	snprintf(jobs[njobs].what, sizeof jobs[njobs].what, "%s", what);
	return njobs++;
}

/*
 * Wait for pid: returns 1 with *status when it ended, 0 when it is blocked (every check over
 * ~1.5 s found it sleeping; a task that keeps running is waited for up to 60 s).
 */
static int wait_done(pid_t pid, int *status, double grace)
{
	double t0 = now();
	int sleeping = 0;
	for (;;) {
		if (waitpid(pid, status, WNOHANG) == pid) return 1;
		msleep(50);
		if (now() - t0 < grace) continue;
		if (any_thread_sleeping(pid)) sleeping++;
		else sleeping = 0;
		if (sleeping >= 6 || now() - t0 > 60) return 0;
	}
}

static void run_worker(int step, int bg, const char *comm, workfn fn, char **argv)
{
	pid_t pid = fork();
	if (pid == 0) {
		prctl(PR_SET_NAME, comm);
		signal(SIGBUS, SIG_DFL);
		int r = fn(argv);
		fflush(stdout);
		_exit(r);
	}
	if (bg) {
		add_job(step, pid, -1, comm);
		say("STEP %d done started in the background (pid %d)", step, pid);
		return;
	}
	int status;
	if (wait_done(pid, &status, 1.5)) {
		if (WIFSIGNALED(status))
			say("STEP %d killed SIG%s", step, sigabbrev_np(WTERMSIG(status)));
		else if (WEXITSTATUS(status) == EXITED)
			say("STEP %d error failed", step);
		else if (WEXITSTATUS(status))
			say("STEP %d error %s", step, errname(WEXITSTATUS(status)));
		else
			say("STEP %d done", step);
		return;
	}
	char site[512];
	wait_site(pid, site, sizeof site);
	add_job(step, pid, -1, comm);
	say("STEP %d blocked %s", step, site);
}

static int e(int r) { return r < 0 ? (errno ? errno : EIO) : 0; }

static int fill(int fd, off_t off, size_t len, int byte)
{
	static char buf[1 << 16];
	memset(buf, byte, sizeof buf);
	while (len) {
		size_t n = len < sizeof buf ? len : sizeof buf;
		ssize_t w = pwrite(fd, buf, n, off);
		if (w < 0) return errno;
		if (w == 0) return EIO;
		len -= w;
		off += w;
	}
	return 0;
}

static int w_create(char **a)
{
	int fd = open(a[0], O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0) return errno;
	int r = fill(fd, 0, strtoull(a[1], NULL, 10), atoi(a[2]));
	if (!r && fsync(fd)) r = errno;
	close(fd);
	return r;
}

static int w_write(char **a)
{
	int fd = open(a[0], O_RDWR);
	if (fd < 0) return errno;
	int r = fill(fd, strtoull(a[1], NULL, 10), strtoull(a[2], NULL, 10), atoi(a[3]));
	if (!r && fsync(fd)) r = errno;
	close(fd);
	return r;
}

static int w_read(char **a)
{
	int fd = open(a[0], O_RDONLY);
	if (fd < 0) return errno;
	size_t len = strtoull(a[2], NULL, 10);
	off_t off = strtoull(a[1], NULL, 10);
	int byte = atoi(a[3]);
	char *buf = malloc(len ? len : 1);
	ssize_t n = pread(fd, buf, len, off);
	int r = n < 0 ? errno : 0;
	if (n >= 0) {
		size_t bad = 0, first = 0;
		int val = 0;
		for (ssize_t i = 0; i < n; i++)
			if ((unsigned char)buf[i] != byte && buf[i] != 0) {
				if (!bad++) { first = off + i; val = (unsigned char)buf[i]; }
			}
		if (bad)
			printf("OUT %s read %zd bytes; %zu are not the file's, from offset %zu (byte 0x%02x)\n", a[0], n, bad, first, val);
	}
	close(fd);
	return r;
}

static int w_truncate(char **a) { return e(truncate(a[0], strtoull(a[1], NULL, 10))); }

static int w_punch(char **a)
{
	int fd = open(a[0], O_RDWR);
	if (fd < 0) return errno;
	int r = e(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, strtoull(a[1], NULL, 10), strtoull(a[2], NULL, 10)));
	close(fd);
	return r;
}

static int w_rm(char **a) { return e(unlink(a[0])); }
static int w_mkdir(char **a) { return e(mkdir(a[0], 0755)); }
static int w_sync(char **a) { (void)a; sync(); return 0; }
static int w_umount(char **a) { return e(umount(a[0])); }

static int w_write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY);
	if (fd < 0) return errno;
	int r = write(fd, s, strlen(s)) < 0 ? errno : 0;
	close(fd);
	return r;
}

static int w_drop(char **a) { (void)a; return w_write_file("/proc/sys/vm/drop_caches", "3"); }
static int w_unbind(char **a) { (void)a; return w_write_file("/sys/bus/nd/drivers/nd_pmem/unbind", pfndev); }
static int w_bind(char **a) { (void)a; return w_write_file("/sys/bus/nd/drivers/nd_pmem/bind", pfndev); }

static int w_mount(char **a)
{
	mkdir(a[0], 0755);
	return e(mount("/dev/pmem0", a[0], a[1], 0, strcmp(a[2], "-") ? a[2] : NULL));
}

static int w_chattr(char **a)
{
	struct fsxattr fa;
	int fd = open(a[1], O_RDONLY);
	if (fd < 0) return errno;
	int r = 0;
	if (ioctl(fd, FS_IOC_FSGETXATTR, &fa)) r = errno;
	if (!r) {
		if (a[0][0] == '+') fa.fsx_xflags |= FS_XFLAG_DAX;
		else fa.fsx_xflags &= ~FS_XFLAG_DAX;
		if (ioctl(fd, FS_IOC_FSSETXATTR, &fa)) r = errno;
	}
	close(fd);
	return r;
}

static char **mkfs_argv;

static int w_mkfs(char **a)
{
	(void)a;
	int p[2];
	if (pipe(p)) return errno;
	pid_t pid = fork();
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);
		dup2(fd, 1);
		dup2(p[1], 2);
		execv(mkfs_argv[0], mkfs_argv);
		_exit(127);
	}
	close(p[1]);
	char err[1024];
	ssize_t n = 0, r;
	while (n < (ssize_t)sizeof err - 1 && (r = read(p[0], err + n, sizeof err - 1 - n)) > 0) n += r;
	err[n > 0 ? n : 0] = 0;
	int status;
	waitpid(pid, &status, 0);
	if (WIFEXITED(status) && !WEXITSTATUS(status)) return 0;
	for (char *l = strtok(err, "\n"); l; l = strtok(NULL, "\n"))
		printf("OUT %s\n", l);
	printf("OUT %s exited %d\n", mkfs_argv[0], WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	return EXITED;
}

/* ---- process server ---- */
static struct proc *me;
static int me_index;

static void on_bus(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	sh->sigcode[me_index] = si->si_code;
	sh->sigaddr[me_index] = (unsigned long)si->si_addr;
	signal(sig, SIG_DFL);
	raise(sig);
}

struct pinarg { int k; unsigned long addr; size_t len; };
static void *pin_thread(void *v)
{
	struct pinarg *p = v;
	int fd = open("/dev/nbd0", O_RDONLY | O_DIRECT);
	if (fd < 0) {
		sh->pin[p->k].err = errno;
		sh->pin[p->k].ret = -1;
		__atomic_store_n(&sh->pin[p->k].done, 1, __ATOMIC_SEQ_CST);
		return NULL;
	}
	__atomic_store_n(&sh->pin[p->k].started, 1, __ATOMIC_SEQ_CST);
	ssize_t r = pread(fd, (void *)p->addr, p->len, PINOFF(p->k));
	sh->pin[p->k].err = r < 0 ? errno : 0;
	sh->pin[p->k].ret = r;
	__atomic_store_n(&sh->pin[p->k].done, 1, __ATOMIC_SEQ_CST);
	close(fd);
	return NULL;
}

static int server_byte_at(unsigned long addr)
{
	for (int i = 0; i < me->nmaps; i++)
		if (addr >= me->maps[i].addr && addr < me->maps[i].addr + me->maps[i].len)
			return file_byte(me->maps[i].path);
	return 'x';
}

static void server(int cmd_r, int rep_w)
{
	FILE *in = fdopen(cmd_r, "r");
	char line[1024];
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_bus;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGBUS, &sa, NULL);
	while (fgets(line, sizeof line, in)) {
		char op[32], path[256];
		unsigned long addr, len, off;
		int x, y;
		char rep[512] = "ok";
		if (sscanf(line, "mmap %255s %lu %lu %lu %d", path, &len, &off, &addr, &x) == 5) {
			int fd = open(path, x ? O_RDONLY : O_RDWR);
			if (fd < 0) { snprintf(rep, sizeof rep, "err %d", errno); goto out; }
			void *p = mmap((void *)addr, len, PROT_READ | PROT_WRITE, (x ? MAP_PRIVATE : MAP_SHARED) | MAP_FIXED_NOREPLACE, fd, off);
			int er = errno;
			close(fd);
			if (p == MAP_FAILED) { snprintf(rep, sizeof rep, "err %d", er); goto out; }
			if (me->nmaps < MAXMAP) {
				me->maps[me->nmaps] = (struct map){(unsigned long)p, len, off, ""};
				snprintf(me->maps[me->nmaps].path, 256, "%s", path);
				file_byte(path);
				me->nmaps++;
			}
			snprintf(rep, sizeof rep, "ok 0x%lx", (unsigned long)p);
		} else if (sscanf(line, "munmap %lu", &addr) == 1) {
			int i;
			for (i = 0; i < me->nmaps && me->maps[i].addr != addr; i++);
			if (i == me->nmaps) { snprintf(rep, sizeof rep, "err %d", EINVAL); goto out; }
			if (munmap((void *)addr, me->maps[i].len)) { snprintf(rep, sizeof rep, "err %d", errno); goto out; }
			me->maps[i] = me->maps[--me->nmaps];
		} else if (sscanf(line, "touch %lu %lu %d", &addr, &len, &x) == 3) {
			unsigned long n = 0;
			for (unsigned long a = addr & ~(PG - 1UL); a < addr + len; a += PG, n++) {
				volatile char *p = (volatile char *)a;
				if (x) *p = server_byte_at(a);
				else (void)*p;
			}
			snprintf(rep, sizeof rep, "ok %s %lu pages", x ? "stored to" : "loaded from", n);
		} else if (sscanf(line, "hwpoison %lu", &addr) == 1) {
			/* madvise(MADV_HWPOISON) on the current process's own mapping: the kernel's
			 * SIGBUS (BUS_MCEERR_AR) for the page it poisons ends this process (on_bus) */
			if (madvise((void *)(addr & ~(PG - 1UL)), PG, MADV_HWPOISON)) { snprintf(rep, sizeof rep, "err %d", errno); goto out; }
			snprintf(rep, sizeof rep, "ok madvise(MADV_HWPOISON) at 0x%lx", addr & ~(PG - 1UL));
		} else if (sscanf(line, "pin %d %lu %lu", &y, &addr, &len) == 3) {
			static struct pinarg pa[MAXPIN];
			pthread_t th;
			pa[y] = (struct pinarg){y, addr, len};
			pthread_create(&th, NULL, pin_thread, &pa[y]);
			pthread_detach(th);
		} else if (sscanf(line, "%31s", op) == 1 && !strcmp(op, "exit")) {
			_exit(0);
		} else {
			snprintf(rep, sizeof rep, "err %d", EINVAL);
		}
	out:
		strcat(rep, "\n");
		if (write(rep_w, rep, strlen(rep)) < 0) _exit(1);
	}
	_exit(0);
}

static int proc_index(const char *name, int create)
{
	for (int i = 0; i < nprocs; i++)
		if (!strcmp(procs[i].name, name)) return i;
	if (!create || nprocs == MAXP) return -1;
	int c[2], r[2];
	if (pipe(c) || pipe(r)) return -1;
	int i = nprocs++;
	struct proc *p = &procs[i];
	memset(p, 0, sizeof *p);
	snprintf(p->name, sizeof p->name, "%s", name);
	pid_t pid = fork();
	if (pid == 0) {
		close(c[1]);
		close(r[0]);
		prctl(PR_SET_NAME, name);
		me = p;
		me_index = i;
		server(c[0], r[1]);
	}
	close(c[0]);
	close(r[1]);
	p->pid = pid;
	p->cmd_w = c[1];
	p->rep_r = r[0];
	p->alive = 1;
	return i;
}

/* send a command to the current process; returns 1 with its reply, 0 blocked, -1 died */
static int ask(int step, int pi, const char *cmd, char *rep, size_t n)
{
	struct proc *p = &procs[pi];
	char buf[600];
	snprintf(buf, sizeof buf, "%s\n", cmd);
	if (write(p->cmd_w, buf, strlen(buf)) < 0) return -1;
	double t0 = now();
	int sleeping = 0;
	for (;;) {
		struct pollfd pf = {p->rep_r, POLLIN, 0};
		if (poll(&pf, 1, 50) > 0) {
			ssize_t r = read(p->rep_r, rep, n - 1);
			if (r > 0) {
				rep[r] = 0;
				char *nl = strchr(rep, '\n');
				if (nl) *nl = 0;
				return 1;
			}
			return -1; /* EOF: the process died */
		}
		if (now() - t0 < 1.5) continue;
		if (any_thread_sleeping(p->pid)) sleeping++;
		else sleeping = 0;
		if (sleeping >= 6 || now() - t0 > 60) {
			(void)step;
			return 0;
		}
	}
}

static void proc_step(int step, int pi, const char *cmd, const char *what)
{
	char rep[512];
	int r = ask(step, pi, cmd, rep, sizeof rep);
	if (r == 1) {
		if (!strncmp(rep, "ok", 2)) {
			say("STEP %d done", step);
			if (rep[2] == ' ') say("OUT %d %s", step, rep + 3);
		} else {
			say("STEP %d error %s", step, errname(atoi(rep + 4)));
		}
		return;
	}
	if (r < 0) {
		int status;
		waitpid(procs[pi].pid, &status, 0);
		procs[pi].alive = 0;
		if (WIFSIGNALED(status)) {
			say("STEP %d killed SIG%s %s", step, sigabbrev_np(WTERMSIG(status)), codename(WTERMSIG(status), sh->sigcode[pi]));
		} else {
			say("STEP %d error exited", step);
		}
		report_death(procs[pi].name, procs[pi].pid, status, pi);
		return;
	}
	char site[512];
	wait_site(procs[pi].pid, site, sizeof site);
	add_job(step, procs[pi].pid, pi, what);
	say("STEP %d blocked %s", step, site);
}

/* ---- corruption check over every file this run wrote ---- */
static int check_files(void)
{
	int found = 0;
	for (int i = 0; i < nfiles; i++) {
		int p[2];
		if (pipe(p)) continue;
		pid_t pid = fork();
		if (pid == 0) {
			/* a child, so that a read that sleeps forever (a dead device) does not stop the run */
			close(p[0]);
			int fd = open(files[i].path, O_RDONLY);
			if (fd < 0) _exit(0);
			static unsigned char buf[1 << 16];
			off_t off = 0;
			size_t bad = 0, first = 0;
			int val = 0;
			for (;;) {
				ssize_t n = pread(fd, buf, sizeof buf, off);
				if (n <= 0) break;
				for (ssize_t j = 0; j < n; j++)
					if (buf[j] != files[i].byte && buf[j] != 0 && !bad++) { first = off + j; val = buf[j]; }
				off += n;
			}
			char out[400];
			if (bad) {
				snprintf(out, sizeof out, "CORRUPT %s %zu 0x%02x %zu", files[i].path, first, val, bad);
				if (write(p[1], out, strlen(out)) < 0) _exit(1);
			}
			_exit(0);
		}
		close(p[1]);
		int status;
		if (!wait_done(pid, &status, 1.0)) {
			kill(pid, SIGKILL);
			close(p[0]);
			continue;
		}
		char out[400];
		ssize_t n = read(p[0], out, sizeof out - 1);
		close(p[0]);
		if (n > 0) {
			out[n] = 0;
			say("%s", out);
			found++;
		}
	}
	return found;
}

static int job_index(const char *ref)
{
	int n = atoi(ref + (ref[0] == '%'));
	int seen = 0;
	for (int j = 0; j < njobs; j++)
		if (++seen == n) return j;
	return -1;
}

static int signum(const char *s)
{
	static const char *names[] = {"HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE", "KILL", "USR1",
				      "SEGV", "USR2", "PIPE", "ALRM", "TERM"};
	if (isdigit((unsigned char)s[0])) return atoi(s);
	if (!strncmp(s, "SIG", 3)) s += 3;
	for (int i = 0; i < 15; i++)
		if (!strcmp(s, names[i])) return i + 1;
	return SIGTERM;
}

static void dump_kmsg(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);
	char buf[8192];
	int on = 0;
	if (fd < 0) return;
	for (;;) {
		ssize_t n = read(fd, buf, sizeof buf - 1);
		if (n < 0 && errno == EPIPE) continue;
		if (n <= 0) break;
		buf[n] = 0;
		char *msg = strchr(buf, ';');
		if (!msg) continue;
		msg++;
		char *nl = strchr(msg, '\n');
		if (nl) *nl = 0;
		if (buf[0] == ' ') continue; /* continuation (dictionary) lines */
		if (!on) { on = !strcmp(msg, "daxsh: steps begin"); continue; }
		say("DMESG %s", msg);
	}
	close(fd);
}

int main(int argc, char **argv)
{
	if (argc != 3) { fprintf(stderr, "usage: daxsh-guest STEPS PFN-DEVICE\n"); return 2; }
	pfndev = argv[2];
	proto = fopen("/dev/ttyS1", "w");
	if (!proto) proto = stdout;
	setvbuf(stdout, NULL, _IOLBF, 0);
	sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	memset(sh, 0, sizeof *sh);
	signal(SIGPIPE, SIG_IGN);
	int km = open("/dev/kmsg", O_WRONLY);
	if (km >= 0) { (void)!write(km, "<5>daxsh: steps begin\n", 22); close(km); }
	if (nbd_start()) say("OUT 0 nbd server did not start: %s", strerror(errno));
	cur = proc_index("sh", 1);
	say("READY %s", pfndev);
	FILE *f = fopen(argv[1], "r");
	if (!f) { say("END"); return 1; }
	char line[1024];
	int npins = 0;
	while (fgets(line, sizeof line, f)) {
		char *w[16];
		int nw = 0;
		line[strcspn(line, "\n")] = 0;
		for (char *t = strtok(line, " "); t && nw < 16; t = strtok(NULL, " ")) w[nw++] = t;
		if (nw < 3) continue;
		int step = atoi(w[0]), bg = atoi(w[1]);
		char *op = w[2];
		char **a = w + 3;
		int na = nw - 3;
		cur_step = step;
		reap();
		fflush(stdout);
		printf("== step %d: %s\n", step, op);
		if (!strcmp(op, "proc")) {
			cur = proc_index(a[0], 1);
			say("STEP %d done", step);
		} else if (!strcmp(op, "exit")) {
			int pi = na ? proc_index(a[0], 0) : cur;
			if (pi < 0 || !procs[pi].alive) { say("STEP %d error ESRCH", step); continue; }
			char rep[64];
			int r = ask(step, pi, "exit", rep, sizeof rep);
			int status;
			if (r != 0) {
				waitpid(procs[pi].pid, &status, 0);
				procs[pi].alive = 0;
				report_death(procs[pi].name, procs[pi].pid, status, pi);
				say("STEP %d done", step);
			} else {
				char site[512];
				wait_site(procs[pi].pid, site, sizeof site);
				add_job(step, procs[pi].pid, pi, "exit");
				say("STEP %d blocked %s", step, site);
			}
		} else if (!strcmp(op, "kill")) {
			int sig = signum(a[0]);
			pid_t pid = -1;
			if (a[1][0] == '%') {
				int j = job_index(a[1]);
				if (j >= 0 && jobs[j].active) pid = jobs[j].pid;
			} else {
				int pi = proc_index(a[1], 0);
				if (pi >= 0 && procs[pi].alive) pid = procs[pi].pid;
			}
			if (pid < 0 || kill(pid, sig)) { say("STEP %d error ESRCH", step); continue; }
			msleep(300);
			say("STEP %d done", step);
		} else if (!strcmp(op, "mmap") || !strcmp(op, "munmap") || !strcmp(op, "touch") || !strcmp(op, "hwpoison")) {
			if (cur < 0 || !procs[cur].alive) { say("STEP %d error ESRCH", step); continue; }
			char cmd[600];
			if (!strcmp(op, "mmap")) {
				snprintf(cmd, sizeof cmd, "mmap %s %s %s %s %s", a[0], a[1], a[2], a[3], a[4]);
				file_byte(a[0]);
				if (procs[cur].nmaps < MAXMAP) {
					struct map *m = &procs[cur].maps[procs[cur].nmaps++];
					*m = (struct map){strtoul(a[3], NULL, 10), strtoul(a[1], NULL, 10), strtoul(a[2], NULL, 10), ""};
					snprintf(m->path, sizeof m->path, "%s", a[0]);
				}
			} else if (!strcmp(op, "munmap") || !strcmp(op, "hwpoison")) {
				snprintf(cmd, sizeof cmd, "%s %s", op, a[0]);
			} else {
				snprintf(cmd, sizeof cmd, "touch %s %s %s", a[0], a[1], a[2]);
			}
			proc_step(step, cur, cmd, op);
		} else if (!strcmp(op, "pin")) {
			if (cur < 0 || !procs[cur].alive) { say("STEP %d error ESRCH", step); continue; }
			int k = ++npins;
			if (k >= MAXPIN) { say("STEP %d error ENOMEM", step); continue; }
			sh->pin[k].used = 1;
			char cmd[200], rep[64];
			snprintf(cmd, sizeof cmd, "pin %d %s %s", k, a[0], a[1]);
			if (ask(step, cur, cmd, rep, sizeof rep) != 1) { say("STEP %d error EIO", step); continue; }
			double t0 = now();
			while (!sh->pin[k].held && !sh->pin[k].done && now() - t0 < 10) msleep(20);
			if (sh->pin[k].held) {
				say("STEP %d done", step);
				say("OUT %d pin%d: O_DIRECT read of %s bytes from /dev/nbd0 into 0x%lx in flight", step, k, a[1], strtoul(a[0], NULL, 10));
			} else {
				say("STEP %d error %s", step, errname(sh->pin[k].done ? sh->pin[k].err : ETIMEDOUT));
			}
		} else if (!strcmp(op, "dma") || !strcmp(op, "unpin")) {
			int k = atoi(a[0]);
			if (k <= 0 || k >= MAXPIN || !sh->pin[k].used) { say("STEP %d error EINVAL", step); continue; }
			struct pinst *p = &sh->pin[k];
			if (!p->replied) {
				static char data[1 << 17];
				memset(data, DEVBYTE, sizeof data);
				p->replied = 1;
				if (!strcmp(op, "dma")) nbd_reply(p->handle, 0, data, p->len);
				else nbd_reply(p->handle, EIO, NULL, 0);
			} else if (!strcmp(op, "dma")) {
				say("STEP %d error EINVAL", step);
				say("OUT %d pin%d has already been released", step, k);
				continue;
			}
			double t0 = now();
			while (!p->done && now() - t0 < 5) msleep(20);
			if (!p->done) {
				say("STEP %d blocked the O_DIRECT read of pin%d has not returned", step, k);
				continue;
			}
			say("STEP %d done", step);
			say("OUT %d pin%d: the read returned %ld%s%s", step, k, p->ret, p->ret < 0 ? " " : "", p->ret < 0 ? errname(p->err) : "");
			if (!strcmp(op, "dma")) check_files();
		} else if (!strcmp(op, "sleep")) {
			sleep(atoi(a[0]));
			say("STEP %d done", step);
		} else if (!strcmp(op, "jobs") || !strcmp(op, "dmesg") || !strcmp(op, "check")) {
			for (int j = 0; j < njobs; j++)
				if (jobs[j].active) {
					char site[512];
					wait_site(jobs[j].pid, site, sizeof site);
					say("OUT %d [%d] step %d %s: %s", step, j + 1, jobs[j].step, jobs[j].what, site);
				}
			say("STEP %d done", step);
		} else if (!strcmp(op, "wait")) {
			int blocked = 0;
			for (int j = 0; j < njobs; j++) {
				if (!jobs[j].active || (na && j != job_index(a[0]))) continue;
				int status;
				if (jobs[j].proc >= 0) continue;
				if (wait_done(jobs[j].pid, &status, 3.0)) {
					jobs[j].active = 0;
					say("JOB %d %s %s", jobs[j].step, WIFEXITED(status) && !WEXITSTATUS(status) ? "done" : "error", jobs[j].what);
				} else {
					blocked++;
				}
			}
			if (blocked) say("STEP %d error %d job(s) cannot finish", step, blocked);
			else say("STEP %d done", step);
		} else {
			/* syscalls in a worker task */
			workfn fn = NULL;
			char *wa[8] = {0};
			char byte[8];
			for (int i = 0; i < na && i < 6; i++) wa[i] = a[i];
			if (!strcmp(op, "create")) { fn = w_create; snprintf(byte, sizeof byte, "%d", file_byte(a[0])); wa[2] = byte; }
			else if (!strcmp(op, "write")) { fn = w_write; snprintf(byte, sizeof byte, "%d", file_byte(a[0])); wa[3] = byte; }
			else if (!strcmp(op, "read")) { fn = w_read; snprintf(byte, sizeof byte, "%d", file_byte(a[0])); wa[3] = byte; }
			else if (!strcmp(op, "truncate")) fn = w_truncate;
			else if (!strcmp(op, "punch")) fn = w_punch;
			else if (!strcmp(op, "rm")) fn = w_rm;
			else if (!strcmp(op, "mkdir")) fn = w_mkdir;
			else if (!strcmp(op, "sync")) fn = w_sync;
			else if (!strcmp(op, "drop_caches")) fn = w_drop;
			else if (!strcmp(op, "umount")) fn = w_umount;
			else if (!strcmp(op, "mount")) fn = w_mount;
			else if (!strcmp(op, "chattr")) fn = w_chattr;
			else if (!strcmp(op, "unbind")) fn = w_unbind;
			else if (!strcmp(op, "bind")) fn = w_bind;
			else if (!strcmp(op, "mkfs")) {
				static char *mv[16], prog[64];
				snprintf(prog, sizeof prog, "/sbin/mkfs.%s", a[0]);
				int m = 0;
				mv[m++] = prog;
				mv[m++] = !strcmp(a[0], "xfs") ? "-f" : "-F";
				mv[m++] = "-q";
				for (int i = 1; i < na && m < 14; i++) mv[m++] = a[i];
				mv[m++] = "/dev/pmem0";
				mv[m] = NULL;
				mkfs_argv = mv;
				fn = w_mkfs;
			}
			if (!fn) { say("STEP %d error EINVAL unknown op %s", step, op); continue; }
			fflush(proto);
			/* output lines of the worker go to its stdout, which is this program's pipe */
			int p[2];
			if (pipe(p)) continue;
			int saved = dup(1);
			dup2(p[1], 1);
			close(p[1]);
			run_worker(step, bg, op, fn, wa);
			fflush(stdout);
			dup2(saved, 1);
			close(saved);
			fcntl(p[0], F_SETFL, O_NONBLOCK);
			char buf[2048];
			ssize_t n = read(p[0], buf, sizeof buf - 1);
			close(p[0]);
			if (n > 0) {
				buf[n] = 0;
				for (char *l = strtok(buf, "\n"); l; l = strtok(NULL, "\n"))
					if (!strncmp(l, "OUT ", 4)) say("OUT %d %s", step, l + 4);
			}
		}
	}
	msleep(1000);
	reap();
	for (int j = 0; j < njobs; j++)
		if (jobs[j].active) {
			char site[512];
			wait_site(jobs[j].pid, site, sizeof site);
			say("JOB %d waiting %s %s", jobs[j].step, jobs[j].what, site);
		}
	check_files();
	dump_kmsg();
	say("END");
	fflush(proto);
	return 0;
}
