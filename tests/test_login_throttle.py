"""Guessing someone's password: refused per address, slowed per account by a question, never a
lockout of the owner (the 等保 profile alone locks, as that standard asks)."""
import html
import re
import time

import pytest
from conftest import PASSWORD, Auth


NUMERALS = {ch: n for n, ch in enumerate("零一二三四五六七八九")}


def from_address(app, address):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def login(client, phone, password, **extra):
    return client.post("/login", data={"phone": phone, "password": password, **extra})


def question(page: str) -> tuple[str, int] | None:
    """The question's token and its answer, worked out as a person would from the page."""
    match = re.search(r"验证问题：(.+?)加(.+?)等于几", page)
    if not match:
        return None
    token = html.unescape(re.search(r'name="challenge_token"[^>]*value="([^"]*)"', page).group(1))
    return token, sum(chinese_number(term) for term in match.groups())


def chinese_number(text: str) -> int:
    if "十" not in text:
        return NUMERALS[text]
    tens, _, ones = text.partition("十")
    return (NUMERALS[tens] if tens else 1) * 10 + (NUMERALS[ones] if ones else 0)


def guess_from(app, address, phone, times=5):
    attacker = from_address(app, address)
    for _ in range(times):
        login(attacker, phone, "Wrong1234")
    return attacker


def test_someone_elses_failures_do_not_lock_the_owner_out(app, resident):
    attacker = guess_from(app, "203.0.113.7", resident.phone)
    assert login(attacker, resident.phone, "Wrong1234").status_code == 429  # the per-address limit stays

    owner = from_address(app, "198.51.100.20")
    asked = login(owner, resident.phone, PASSWORD)
    page = asked.get_data(as_text=True)
    assert asked.status_code == 200
    assert "请回答验证问题后再登录" in page
    assert f'value="{resident.phone}"' in page  # what was typed stays
    token, answer = question(page)

    signed_in = login(owner, resident.phone, PASSWORD, challenge_token=token, challenge_answer=str(answer))
    assert signed_in.status_code == 302
    assert owner.get("/me").status_code == 200


def test_the_answer_may_be_typed_in_full_width_digits(app, resident):
    guess_from(app, "203.0.113.7", resident.phone, times=3)
    owner = from_address(app, "198.51.100.20")
    token, answer = question(login(owner, resident.phone, PASSWORD).get_data(as_text=True))
    full_width = "".join(chr(ord(digit) + 0xFEE0) for digit in str(answer))
    assert login(owner, resident.phone, PASSWORD, challenge_token=token, challenge_answer=full_width).status_code == 302


def test_the_question_comes_before_any_password_is_checked(app, resident):
    guess_from(app, "203.0.113.7", resident.phone, times=3)
    guesser = from_address(app, "203.0.113.8")
    page = login(guesser, resident.phone, PASSWORD).get_data(as_text=True)
    assert "手机号或密码不正确" not in page  # no answer: the password was not even looked at
    token, answer = question(page)

    wrong = login(guesser, resident.phone, PASSWORD, challenge_token=token, challenge_answer=str(answer + 1))
    assert wrong.status_code == 200
    assert "验证问题回答不正确" in wrong.get_data(as_text=True)
    assert guesser.get("/me").status_code == 302


def test_each_question_is_answered_once(app, resident):
    guess_from(app, "203.0.113.7", resident.phone, times=3)
    guesser = from_address(app, "203.0.113.8")
    token, answer = question(login(guesser, resident.phone, "Wrong1234").get_data(as_text=True))
    login(guesser, resident.phone, "Wrong5678", challenge_token=token, challenge_answer=str(answer))

    replayed = login(from_address(app, "203.0.113.9"), resident.phone, PASSWORD,
                     challenge_token=token, challenge_answer=str(answer))
    assert "验证问题回答不正确" in replayed.get_data(as_text=True)


def test_a_question_asked_for_one_phone_does_not_serve_another(app, world, resident):
    neighbour = world.resident(name="吴刚", building="6")
    guess_from(app, "203.0.113.6", resident.phone, times=3)
    guess_from(app, "203.0.113.7", neighbour.phone, times=3)
    guesser = from_address(app, "203.0.113.8")
    token, answer = question(login(guesser, resident.phone, "Wrong1234").get_data(as_text=True))

    other = login(guesser, neighbour.phone, PASSWORD, challenge_token=token, challenge_answer=str(answer))
    assert other.status_code == 200
    assert "验证问题回答不正确" in other.get_data(as_text=True)


def test_unregistered_numbers_are_asked_the_same_question(app, resident):
    """Otherwise the question would tell which numbers have an account."""
    guess_from(app, "203.0.113.7", "13999999999", times=3)
    assert question(login(from_address(app, "203.0.113.8"), "13999999999", PASSWORD).get_data(as_text=True))


def test_signing_in_clears_the_failures(app, resident):
    guess_from(app, "203.0.113.7", resident.phone, times=2)
    assert Auth(from_address(app, "198.51.100.20")).login(resident).status_code == 302
    guess_from(app, "203.0.113.8", resident.phone, times=2)
    assert Auth(from_address(app, "198.51.100.21")).login(resident).status_code == 302


# The 等保 profile ------------------------------------------------------------------------------

def test_dengbao_locks_an_account_for_fifteen_minutes_after_five_failures(app, resident, dengbao, monkeypatch):
    for n in range(5):
        client = from_address(app, f"203.0.113.{n + 1}")
        page = login(client, resident.phone, "Wrong1234").get_data(as_text=True)
        if token_and_answer := question(page):
            token, answer = token_and_answer
            page = login(client, resident.phone, "Wrong1234", challenge_token=token,
                         challenge_answer=str(answer)).get_data(as_text=True)
    assert "该账号已锁定15分钟" in page

    owner = from_address(app, "198.51.100.20")
    locked = login(owner, resident.phone, PASSWORD)
    assert "该账号已锁定15分钟" in locked.get_data(as_text=True)
    assert owner.get("/me").status_code == 302

    later = time.time() + 15 * 60 + 1
    monkeypatch.setattr(time, "time", lambda: later)
    assert Auth(owner).login(resident).status_code == 302
