"""Personal information: masks for display and the keyed hash for ID numbers.

A resident ID number has little entropy, so a plain hash is reversed by enumeration;
we keep only an HMAC under a key from config plus the last four digits.
"""

from __future__ import annotations

import hashlib
import hmac

# Two-character surnames, so 欧阳娜娜 masks as 欧阳女士 and not 欧女士.
_COMPOUND_SURNAMES = frozenset(
    [
        "欧阳",
        "司马",
        "上官",
        "诸葛",
        "东方",
        "皇甫",
        "尉迟",
        "公孙",
        "慕容",
        "长孙",
        "令狐",
        "夏侯",
        "司徒",
        "端木",
        "独孤",
        "南宫",
        "西门",
        "宇文",
        "轩辕",
        "呼延",
    ]
)


def surname(real_name: str) -> str:
    name = real_name.strip()
    return name[:2] if name[:2] in _COMPOUND_SURNAMES and len(name) > 2 else name[:1]


def masked_name(real_name: str, salutation_label: str | None) -> str:
    """周女士 when the salutation is known, 周* otherwise."""
    return surname(real_name) + (salutation_label or "*")


def masked_phone(phone: str) -> str:
    return f"{phone[:3]}****{phone[-4:]}" if len(phone) == 11 else "****"


def masked_id_number(last4: str | None) -> str:
    return f"****{last4}" if last4 else "未填写"


def id_number_hmac(key: str, id_number: str) -> str:
    return hmac.new(key.encode(), id_number.upper().encode(), hashlib.sha256).hexdigest()
