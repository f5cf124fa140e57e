"""The sim's ``author`` role: a valid, clearly labelled template context.

Triggered by the lines ``DESCRIPTION: <text>`` and ``AXES: <K>`` (the drafting prompt of
:mod:`generators.drafting`). The reply is one JSON object: K generic axes, 3 items each
(one reverse-coded), scale 1-5, every text marked ``[SIMULATED TEMPLATE]``.
"""

from __future__ import annotations

import json
import re

from generators.sim.text import stable_hash

_DESC_RE = re.compile(r"^\s*DESCRIPTION:\s*(?P<d>.+?)\s*$", re.MULTILINE)
_AXES_RE = re.compile(r"^\s*AXES:\s*(?P<k>\d+)\s*$", re.MULTILINE)
TEMPLATE_TAG = "[SIMULATED TEMPLATE]"


def is_author_request(text: str) -> bool:
    return bool(_DESC_RE.search(text) and _AXES_RE.search(text))


def author_reply(text: str) -> str:
    """The JSON context for a drafting prompt (K clipped to 2..6; default 3)."""
    d = _DESC_RE.search(text)
    a = _AXES_RE.search(text)
    description = d.group("d") if d else "an unspecified setting"
    k = min(6, max(2, int(a.group("k")) if a else 3))
    ident = f"simulated_template_{stable_hash(description) % 10**8:08d}"
    axes = []
    for i in range(1, k + 1):
        axes.append(
            {
                "name": f"simulated_trait_{i}",
                "description": f"{TEMPLATE_TAG} generic trait {i} of people in this setting",
                "low": f"shows very little of simulated trait {i}",
                "high": f"shows a great deal of simulated trait {i}",
                "items": [
                    {
                        "text": f"{TEMPLATE_TAG} I show simulated trait {i} in most situations.",
                        "reverse": False,
                    },
                    {
                        "text": f"{TEMPLATE_TAG} Others would say simulated trait {i} describes me well.",
                        "reverse": False,
                    },
                    {"text": f"{TEMPLATE_TAG} Simulated trait {i} is foreign to how I act.", "reverse": True},
                ],
            }
        )
    context = {
        "id": ident,
        "description": f"{TEMPLATE_TAG} {description}",
        "scale": {"min": 1, "max": 5},
        "axes": axes,
    }
    return json.dumps(context, indent=2)
