"""Security headers, the sanitizer, templates without inline script, the friendly 500 page."""

import re
from pathlib import Path

import pytest

import config as config_module
from community_board import ROOT, create_app
from community_board.security import render_plain_text, sanitize_html

TEMPLATES = sorted((ROOT / "templates").rglob("*.html"))


@pytest.mark.parametrize(
    "path, status",
    [
        ("/login", 200),
        ("/no-such-page", 404),
        ("/static/css/app.css", 200),
        ("/static/img/logo.svg", 200),
        ("/me", 302),
    ],
)
def test_every_response_carries_the_security_headers(client, path, status):
    response = client.get(path)

    assert response.status_code == status
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "script-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert "unsafe-eval" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_pages_are_not_cached(client):
    assert client.get("/login").headers["Cache-Control"] == "no-store"


def test_404_page_is_friendly(client):
    response = client.get("/no-such-page")
    assert "页面不存在" in response.get_data(as_text=True)


def test_json_clients_get_json_errors(client):
    response = client.get("/api/nothing")
    assert response.status_code == 404
    assert response.get_json() == {"error": "您要找的内容不存在，或已被删除。", "status": 404}


def test_the_templates_are_scanned():
    assert len(TEMPLATES) >= 10
    assert any(path.name == "base.html" for path in TEMPLATES)


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda path: str(path.relative_to(ROOT / "templates")))
def test_templates_have_no_inline_script_or_event_handlers(template: Path):
    source = template.read_text(encoding="utf-8")

    for attributes, body in re.findall(r"<script\b([^>]*)>(.*?)</script\s*>", source, re.S | re.I):
        assert "src=" in attributes, "a script must load from static/js"
        assert not body.strip(), "inline script body"
    assert not re.search(r"<[^>]*\son[a-z]+\s*=", source, re.I), "inline event handler attribute"
    assert not re.search(r"javascript:", source, re.I)
    assert not re.search(r"\|\s*safe\b", source), "|safe on template data"


def test_render_plain_text_escapes_markup():
    html = render_plain_text('<script>alert("x")</script><img src=x onerror=alert(1)>')
    assert "<script" not in html
    assert "<img" not in html
    assert "&lt;script&gt;" in html


def test_render_plain_text_linkifies_urls_with_nofollow():
    html = render_plain_text("通知见 https://example.com/notice?id=1 谢谢")
    assert '<a href="https://example.com/notice?id=1"' in html
    assert 'rel="nofollow noopener noreferrer"' in html
    assert 'target="_blank"' in html


def test_render_plain_text_keeps_line_breaks():
    assert render_plain_text("第一行\r\n第二行") == "第一行<br>\n第二行"


def test_sanitize_html_drops_what_is_not_allowed():
    html = sanitize_html('<p onclick="x()">好</p><a href="javascript:alert(1)">链接</a><iframe src="/"></iframe>')
    assert "onclick" not in html
    assert "javascript:" not in html
    assert "<iframe" not in html
    assert "<p>好</p>" in html


@pytest.fixture
def broken_app():
    app = create_app(config_module.TestingConfig(), SECRET_KEY="test-secret")

    @app.route("/boom")
    def boom():
        raise RuntimeError("secret-detail-in-the-traceback")

    return app


def test_500_is_a_friendly_page_without_a_traceback(broken_app):
    response = broken_app.test_client().get("/boom")
    page = response.get_data(as_text=True)

    assert response.status_code == 500
    assert "服务器开小差了" in page
    assert "Traceback" not in page
    assert "secret-detail-in-the-traceback" not in page
    assert "RuntimeError" not in page
    assert response.headers["X-Frame-Options"] == "DENY"


def test_500_for_json_clients(broken_app):
    response = broken_app.test_client().get("/boom", headers={"Accept": "application/json"})
    assert response.status_code == 500
    assert response.get_json()["status"] == 500
    assert "secret-detail" not in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example",
        "/%09/evil.example",
        "/\t/evil.example",
        "/\\evil.example",
        "https://evil.example/",
        "javascript:alert(1)",
        "/\n/evil.example",
    ],
)
def test_login_never_redirects_off_site(client, resident, target):
    response = client.post(f"/login?next={target}", data={"phone": resident.phone, "password": "Passw0rd1"})
    assert response.status_code == 302
    assert response.headers["Location"] in ("/", "http://localhost/")
