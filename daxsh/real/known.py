"""Where the model is known to disagree with a real kernel, per real-kernel scenario and preset,
with what the real kernel did (the evidence is in the run: ``daxsh real FILE --kernel K -v``).

The model is not changed here; each entry is a known limit (man page: REAL KERNELS) until the
model's behaviour is fixed, when the strict expected failure turns into a failure and the entry
goes.
"""

from __future__ import annotations

_LOST_WAKEUP = ("real 6.1.192 never wakes the task waiting for the pinned page once the O_DIRECT read has "
                "completed and the page is idle (it sleeps in *_break_layouts until killed: a lost "
                "wake-up, cause not identified; 6.12 wakes it); the model (v6.1) completes it")
_BUSY_EXTENT = ("real {k}: XFS keeps the extent truncate freed busy until the log commits (xfs_extent_busy), "
                "so the file created next gets other blocks and the device's late reply lands in a free "
                "block (clean); the model hands the freed block out at once (corruption)")

KNOWN: dict[tuple[str, str], str] = {
    ("unmapped-pin-busy-extent", "v6.1"): _BUSY_EXTENT.format(k="6.1"),
    ("unmapped-pin-busy-extent", "v6.12"): _BUSY_EXTENT.format(k="6.12"),
    ("dma-vs-truncate-xfs", "v6.1"): _LOST_WAKEUP,
    ("dma-vs-punch-ext4", "v6.1"): _LOST_WAKEUP,
    ("schedule-dma-vs-truncate", "v6.1"): _LOST_WAKEUP,
    ("unbind-while-truncate-waits", "v6.1"): (
        "real 6.1: the device's late reply is the oops (nbd recv_work, _copy_to_iter writing the removed "
        "page), so the read never returns and `dma` stays blocked; the model's dma succeeds and it oopses "
        "later in unpin_user_page, then stops the machine (later steps skipped)"),
}


def disagreement(scenario: str, preset: str) -> str | None:
    """Why the model and the real kernel differ on ``scenario`` (its file's stem) at ``preset``."""
    return KNOWN.get((scenario, preset))
