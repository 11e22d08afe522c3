"""Format rules for what residents type, shared by forms and services."""
from __future__ import annotations

import re

from stdnum.cn import ric
from stdnum.exceptions import ValidationError as StdnumError

PHONE_PATTERN = re.compile(r"^1[3-9]\d{9}$")
ADDRESS_PART_PATTERN = re.compile(r"^[0-9A-Za-z\-]{1,8}$")
PASSWORD_MIN_LENGTH = 8


def normalize_phone(raw: str) -> str:
    """Accept spaces, dashes and a +86 prefix, as people type them."""
    digits = re.sub(r"[\s\-]", "", raw or "")
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return digits


def phone_problem(phone: str) -> str | None:
    if not PHONE_PATTERN.match(phone):
        return "请输入11位中国大陆手机号码"
    return None


def password_problem(password: str) -> str | None:
    if len(password) < PASSWORD_MIN_LENGTH:
        return f"密码至少{PASSWORD_MIN_LENGTH}位"
    if not (re.search(r"[A-Za-z]", password) and re.search(r"\d", password)):
        return "密码需同时包含字母和数字"
    return None


def normalize_id_number(raw: str) -> str:
    return re.sub(r"\s", "", raw or "").upper()


def id_number_problem(id_number: str) -> str | None:
    """GB 11643: 17 digits, a check character, a valid birth date and region."""
    if len(id_number) != 18:
        return "身份证号应为18位"
    try:
        ric.validate(id_number)
    except StdnumError:
        return "身份证号校验未通过，请检查是否填写正确"
    return None


def address_part_problem(value: str, label: str) -> str | None:
    if not ADDRESS_PART_PATTERN.match(value):
        return f"{label}请填写数字或字母，最多8位"
    return None
