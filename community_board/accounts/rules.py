"""Format rules for what residents type, shared by forms and services."""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from functools import cache
from importlib import resources

from flask import current_app
from stdnum.cn import ric

PHONE_PATTERN = re.compile(r"^1[3-9][0-9]{9}$")
ADDRESS_PART_PATTERN = re.compile(r"^[0-9A-Za-z\-]{1,8}$")
PASSWORD_MIN_LENGTH = 8
PASSWORD_MAX_LENGTH = 128  # ASVS: at least 64 allowed; a bound keeps hashing cheap
COMMON_PASSWORD = "这个密码太常见，容易被猜到，请换一个"


def ascii_digits(raw: str) -> str:
    """Full-width (１３８), Arabic-Indic (١٣٨) and other Unicode decimal digits as 0-9."""
    return "".join(str(unicodedata.decimal(ch)) if ch.isdecimal() else ch for ch in raw)


def normalize_phone(raw: str) -> str:
    """Accept spaces, dashes, a +86 prefix and any script's digits, as people type them."""
    text = ascii_digits(unicodedata.normalize("NFKC", raw or ""))
    digits = "".join(ch for ch in text if not (ch.isspace() or unicodedata.category(ch) == "Pd"))
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return digits


def phone_problem(phone: str) -> str | None:
    if not PHONE_PATTERN.match(phone):
        return "请输入11位中国大陆手机号码"
    return None


# Passwords ----------------------------------------------------------------------------------
# ASVS 5.0 (the default): a length floor, no composition rules, no common passwords.
# 等保 2.0 (PASSWORD_POLICY=dengbao): the same plus three of four character classes.


@cache
def common_passwords() -> frozenset[str]:
    """Loaded on the first password set, once per process (data/NOTICE.txt says where from)."""
    data = resources.files(__package__) / "data"
    words = set()
    for name in ("common-passwords.txt", "common-passwords-zh.txt"):
        words.update(data.joinpath(name).read_text(encoding="utf-8").split())
    return frozenset(words)


def _repeat_or_run(password: str) -> bool:
    """88888888, 12121212, abcabcabc; 12345678, abcdefgh, 87654321: what the list leaves to rules."""
    for size in range(1, 5):
        if len(password) % size == 0 and password == password[:size] * (len(password) // size):
            return True
    steps = {ord(b) - ord(a) for a, b in zip(password, password[1:], strict=False)}
    return steps in ({1}, {-1})


def _character_classes(password: str) -> int:
    return sum(
        (
            any(ch.islower() for ch in password),
            any(ch.isupper() for ch in password),
            any(ch.isdigit() for ch in password),
            any(not ch.isalnum() for ch in password),
        )
    )


def password_problem(password: str, policy: str | None = None, phone: str | None = None) -> str | None:
    """What is wrong with a password being set (never checked at sign-in: old ones keep working).
    ``policy`` defaults to the app's PASSWORD_POLICY."""
    policy = policy or current_app.config["PASSWORD_POLICY"]
    if len(password) < PASSWORD_MIN_LENGTH:
        return f"密码至少{PASSWORD_MIN_LENGTH}位"
    if len(password) > PASSWORD_MAX_LENGTH:
        return f"密码最多{PASSWORD_MAX_LENGTH}位"
    if policy == "dengbao" and _character_classes(password) < 3:
        return "密码需包含大写字母、小写字母、数字、符号中的至少三类"
    folded = password.lower()
    if folded in common_passwords() or _repeat_or_run(folded):
        return COMMON_PASSWORD
    if phone and (phone in password or phone[-8:] in password):
        return "密码不能包含手机号"
    return None


# ID numbers ---------------------------------------------------------------------------------


def normalize_id_number(raw: str) -> str:
    return re.sub(r"\s", "", ascii_digits(unicodedata.normalize("NFKC", raw or ""))).upper()


ID_PATTERN = re.compile(r"^[0-9]{17}[0-9X]$")


def id_number_problem(id_number: str) -> str | None:
    """GB 11643: 17 digits, a real birth date and the check character.

    The region code is not checked against a list: codes are renamed (宝山县 310228 became
    宝山区 310113 in 1988) and a resident keeps the number issued under the old one.
    """
    if len(id_number) != 18:
        return "身份证号应为18位"
    if not ID_PATTERN.match(id_number):
        return "身份证号应为17位数字加1位数字或X"
    try:
        born = date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))
    except ValueError:
        born = None
    if born is None or born.year < 1880 or born > date.today():
        return "身份证号中的出生日期不正确，请检查是否填写正确"
    if ric.calc_check_digit(id_number) != id_number[-1]:
        return "身份证号校验未通过，请检查是否填写正确"
    return None


def address_part_problem(value: str, label: str) -> str | None:
    if not ADDRESS_PART_PATTERN.match(value):
        return f"{label}请填写数字或字母，最多8位"
    return None
