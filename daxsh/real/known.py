"""Where the model is known to disagree with a real kernel, per real-kernel scenario and preset,
with what the real kernel did (the evidence is in the run: ``daxsh real FILE --kernel K -v``).

The model is not changed here; each entry is a known limit (man page: REAL KERNELS) until the
model's behaviour is fixed, when the strict expected failure turns into a failure and the entry
goes.
"""

from __future__ import annotations

from ..kernel.config import ConfigError, KernelConfig

V61 = "v6.1 +stable-bio-put-refs"  # the model's kernel for real 6.1.192 (compare.PRESETS)

_BUSY_EXTENT = ("real {k}: XFS keeps the extent truncate freed busy until the log commits (xfs_extent_busy), "
                "so the file created next gets other blocks and the device's late reply lands in a free "
                "block (clean); the model hands the freed block out at once (corruption)")

KNOWN: dict[tuple[str, str], str] = {
    ("unmapped-pin-busy-extent", V61): _BUSY_EXTENT.format(k="6.1"),
    ("unmapped-pin-busy-extent", "v6.12"): _BUSY_EXTENT.format(k="6.12"),
    ("unbind-while-truncate-waits", V61): (
        "real 6.1: the device's late reply is the oops (nbd recv_work, _copy_to_iter writing the removed "
        "page), so the read never returns and `dma` stays blocked; the model's dma succeeds and it oopses "
        "later in the unpin (folio_put_refs), then stops the machine (later steps skipped)"),
}


def _norm(spec: str) -> str:
    try:
        return KernelConfig.parse(spec).spec
    except ConfigError:
        return spec


def disagreement(scenario: str, preset: str) -> str | None:
    """Why the model and the real kernel differ on ``scenario`` (its file's stem) at ``preset``
    (a kernel spec, compared as the model normalizes it)."""
    want = _norm(preset)
    return next((why for (name, spec), why in KNOWN.items() if name == scenario and _norm(spec) == want),
                None)
