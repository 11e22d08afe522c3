"""Guessing someone's password: refused per address, slowed per account by a question and a pace,
never a lockout of the owner (the 等保 profile alone locks, as that standard asks)."""

import html
import re
import time

import pytest
from conftest import PASSWORD, Auth

from community_board.accounts import services, throttle

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


@pytest.fixture
def clock(monkeypatch):
    """clock.advance(seconds) moves the limiter's (and everyone's) time.time forward."""

    class Clock:
        offset = 0.0

        def advance(self, seconds):
            self.offset += seconds

    real_time, moved = time.time, Clock()
    monkeypatch.setattr(time, "time", lambda: real_time() + moved.offset)
    return moved


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


def test_each_question_is_answered_once(app, resident, clock):
    guess_from(app, "203.0.113.7", resident.phone, times=3)
    guesser = from_address(app, "203.0.113.8")
    token, answer = question(login(guesser, resident.phone, "Wrong1234").get_data(as_text=True))
    login(guesser, resident.phone, "Wrong5678", challenge_token=token, challenge_answer=str(answer))
    clock.advance(app.config["LOGIN_ACCOUNT_PACE"])  # not told to wait: the replay reaches the question

    replayed = login(
        from_address(app, "203.0.113.9"), resident.phone, PASSWORD, challenge_token=token, challenge_answer=str(answer)
    )
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


def test_dengbao_locks_an_account_for_fifteen_minutes_after_five_failures(app, resident, dengbao, clock):
    for n in range(5):
        clock.advance(app.config["LOGIN_ACCOUNT_PACE"])  # a patient guesser: every guess is checked
        client = from_address(app, f"203.0.113.{n + 1}")
        page = login(client, resident.phone, "Wrong1234").get_data(as_text=True)
        if token_and_answer := question(page):
            token, answer = token_and_answer
            page = login(
                client, resident.phone, "Wrong1234", challenge_token=token, challenge_answer=str(answer)
            ).get_data(as_text=True)
    assert "该账号已锁定15分钟" in page

    owner = from_address(app, "198.51.100.20")
    locked = login(owner, resident.phone, PASSWORD)
    assert "该账号已锁定15分钟" in locked.get_data(as_text=True)
    assert owner.get("/me").status_code == 302

    clock.advance(15 * 60 + 1)
    assert Auth(owner).login(resident).status_code == 302


# Pacing and device cookies (OWASP "device cookies") -------------------------------------------

WAIT = re.compile(r"为保护您的账号，请稍等(\d+)秒再试")


@pytest.fixture
def checked_passwords(monkeypatch):
    """How many passwords the server actually checked (each check costs a hash)."""
    calls = []
    real = services.password_matches

    def counting(stored_hash, password):
        calls.append(password)
        return real(stored_hash, password)

    monkeypatch.setattr(services, "password_matches", counting)
    return calls


def scripted_guess(client, phone, password):
    """A script: it answers the question whenever asked (a sum in Chinese is no bar to a script)."""
    page = login(client, phone, password).get_data(as_text=True)
    if asked := question(page):
        token, answer = asked
        page = login(client, phone, password, challenge_token=token, challenge_answer=str(answer)).get_data(
            as_text=True
        )
    return page


def attack(app, phone, addresses=12):
    return [scripted_guess(from_address(app, f"203.0.113.{n + 1}"), phone, f"Guess{n:04d}x") for n in range(addresses)]


def test_a_script_guessing_from_many_addresses_gets_one_guess_per_pace(app, resident, checked_passwords):
    pages = attack(app, resident.phone)

    threshold = app.config["LOGIN_CHALLENGE_AFTER"]
    assert len(checked_passwords) == threshold + 1  # then one per LOGIN_ACCOUNT_PACE seconds
    paced = [page for page in pages if WAIT.search(page)]
    assert len(paced) == 12 - threshold  # the third address answered its question: its second try was checked
    assert all(0 < int(WAIT.search(page).group(1)) <= app.config["LOGIN_ACCOUNT_PACE"] for page in paced)
    assert all("手机号或密码不正确" not in page for page in paced)
    assert throttle.failures(resident.phone) == threshold + 1  # a paced attempt is no failure


def test_the_pace_lets_one_guess_through_per_window(app, resident, checked_passwords, clock):
    attack(app, resident.phone)
    checked = len(checked_passwords)

    clock.advance(app.config["LOGIN_ACCOUNT_PACE"])
    pages = attack(app, resident.phone, addresses=3)

    assert len(checked_passwords) == checked + 1
    assert sum(bool(WAIT.search(page)) for page in pages) == 2


def test_the_owners_browser_signs_in_at_once_during_an_attack(app, resident):
    owner = from_address(app, "198.51.100.20")
    signed_in = Auth(owner).login(resident)
    cookie = next(c for c in signed_in.headers.getlist("Set-Cookie") if c.startswith("device="))
    assert "HttpOnly" in cookie and "Max-Age=31536000" in cookie
    assert resident.phone not in cookie and resident.phone[-4:] not in cookie
    Auth(owner).logout()

    attack(app, resident.phone)

    page = login(owner, resident.phone, PASSWORD)  # no question, no wait
    assert page.status_code == 302
    assert owner.get("/me").status_code == 200


def test_the_owner_on_a_new_device_signs_in_within_one_pace_window(app, resident, clock):
    attack(app, resident.phone)
    owner = from_address(app, "198.51.100.21")

    page = login(owner, resident.phone, PASSWORD).get_data(as_text=True)
    waited = WAIT.search(page)
    assert waited and int(waited.group(1)) <= app.config["LOGIN_ACCOUNT_PACE"]
    assert "手机号或密码不正确" not in page and f'value="{resident.phone}"' in page
    token, answer = question(page)  # the question comes with the wait: answered while waiting
    clock.advance(int(waited.group(1)))

    signed_in = login(owner, resident.phone, PASSWORD, challenge_token=token, challenge_answer=str(answer))
    assert signed_in.status_code == 302
    assert owner.get("/me").status_code == 200


def test_told_to_wait_the_typed_answer_stays_for_the_next_try(app, resident, clock):
    attack(app, resident.phone)
    owner = from_address(app, "198.51.100.21")
    token, answer = question(login(owner, resident.phone, PASSWORD).get_data(as_text=True))

    page = login(owner, resident.phone, PASSWORD, challenge_token=token, challenge_answer=str(answer)).get_data(
        as_text=True
    )

    assert WAIT.search(page)
    assert question(page) == (token, answer) and f'value="{answer}"' in page


def test_a_device_cookie_serves_only_the_accounts_that_signed_in_there(app, world, resident, checked_passwords):
    neighbour = world.resident(name="吴刚", building="6")
    shared = from_address(app, "198.51.100.22")
    Auth(shared).login(neighbour)
    Auth(shared).logout()
    attack(app, resident.phone)
    checked = len(checked_passwords)

    page = login(shared, resident.phone, PASSWORD).get_data(as_text=True)

    assert WAIT.search(page) and len(checked_passwords) == checked


def test_a_device_cookie_that_keeps_failing_is_trusted_no_more(app, resident, checked_passwords):
    device = from_address(app, "198.51.100.23")
    Auth(device).login(resident)
    Auth(device).logout()
    attack(app, resident.phone)
    checked = len(checked_passwords)
    for n in range(app.config["LOGIN_CHALLENGE_AFTER"]):
        assert "手机号或密码不正确" in login(device, resident.phone, f"Stolen{n}x").get_data(as_text=True)

    page = login(device, resident.phone, "Stolen9x").get_data(as_text=True)

    assert WAIT.search(page) or question(page)
    assert len(checked_passwords) == checked + app.config["LOGIN_CHALLENGE_AFTER"]


def test_ipv6_addresses_of_one_64_share_the_address_limit(app, resident):
    statuses = [
        login(from_address(app, f"2001:db8:1:2::{n + 1:x}"), "13999999999", "Wrong1234").status_code for n in range(6)
    ]
    assert statuses == [200] * 5 + [429]
    assert login(from_address(app, "2001:db8:1:3::1"), "13999999998", "Wrong1234").status_code == 200
