"""Error types services raise, and the error pages every response shares."""

from __future__ import annotations

import logging
import traceback
from contextlib import suppress

from flask import Flask, jsonify, make_response, render_template, request
from flask_wtf.csrf import CSRFError
from limits.errors import StorageError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException, SecurityError

from .logs import loggable_path
from .permissions import Decision, PermissionDenied

log = logging.getLogger(__name__)


class ValidationError(Exception):
    """A rule a user broke; ``field`` names the form field the message belongs next to."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


def attach_to_form(form, error: ValidationError) -> None:
    """Show a service's ValidationError next to its field, or above the form."""
    field = getattr(form, error.field, None) if error.field else None
    if field is not None:
        field.errors = [*field.errors, error.message]
    else:
        form.form_errors.append(error.message)


_MESSAGES = {
    400: ("请求有误", "提交的内容无法处理，请返回重试。"),
    403: ("没有权限", "您的账号不能打开这个页面。"),
    404: ("页面不存在", "您要找的内容不存在，或已被删除。"),
    405: ("请求有误", "这个操作不能这样打开。"),
    410: ("已失效", "这个链接已经失效。"),
    413: (
        "文件太大",
        "上传的照片太大（每张不超过10MB，最多9张）。请返回上一页，已填写的文字还在，去掉或压缩部分照片后再提交。",
    ),
    429: ("操作太频繁", "尝试次数过多，请稍后再试。"),
    500: ("服务器开小差了", "我们已记录这个问题，请稍后再试。"),
    503: ("暂时无法访问", "系统正在维护，请稍后再试。"),
}
# Rate-limit storage (Redis) unreachable: these endpoints fail closed, and say so.
_LIMITS_DOWN = {
    "accounts.login": "登录服务暂时不可用，请稍后再试",
    "accounts.join": "注册服务暂时不可用，请稍后再试",
}
RETRY_AFTER_SECONDS = 30


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def error_response(status: int, message: str | None = None):
    """The error page (or JSON); a 503 instead when the database fails the page (it loads the
    signed-in user for the tab bar)."""
    try:
        return _error_page(status, message)
    except DBAPIError as error:
        if not _database_down(error):
            raise
        return _service_unavailable(error)


def _error_page(status: int, message: str | None = None):
    title, default_message = _MESSAGES.get(status, _MESSAGES[500])
    message = message or default_message
    if _wants_json():
        return jsonify(error=message, status=status), status
    return render_template("errors/error.html", status=status, title=title, message=message), status


def _database_down(error: BaseException) -> bool:
    return isinstance(error, (OperationalError, InterfaceError)) or (
        isinstance(error, DBAPIError) and error.connection_invalidated
    )


def _summary(error: BaseException) -> str:
    """The exception's class and the first line of its cause's message: a database driver's
    further lines may quote row values (PostgreSQL's "DETAIL: Key (phone)=(…)")."""
    cause = getattr(error, "orig", None) or error.__cause__ or error
    first_line = next(iter(str(cause).strip().splitlines()), "")
    return f"{type(error).__name__} ({type(cause).__name__}): {first_line[:200]}"


def _where() -> str:
    return f"{request.method} {loggable_path()}"


def _service_unavailable(error: BaseException, message: str | None = None):
    """A 503 that needs neither the database nor Redis, and one log line."""
    from .extensions import db, login_manager

    log.error("Unavailable on %s: %s", _where(), _summary(error))
    # The page must not load the signed-in user: that is the query that just failed.
    login_manager._update_request_context_with_user()
    with suppress(DBAPIError):  # the connection is gone, and its transaction with it
        db.session.rollback()
    response = make_response(_error_page(503, message))
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def init_app(app: Flask) -> None:
    @app.errorhandler(PermissionDenied)
    def _permission_denied(error: PermissionDenied):
        if error.decision is Decision.NOT_FOUND:
            return error_response(404)
        return error_response(403, error.reason)

    @app.errorhandler(CSRFError)
    def _csrf(_error):
        return error_response(400, "页面已过期，请刷新后重新提交。")

    @app.errorhandler(SecurityError)
    def _untrusted_host(_error):
        # A Host header outside TRUSTED_HOSTS: no URL can be built for it, so no page either.
        return "请求有误", 400, {"Content-Type": "text/plain; charset=utf-8"}

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException):
        if error.code is None or error.code < 400:
            return error
        return error_response(error.code)

    @app.errorhandler(StorageError)
    def _limits_down(error: StorageError):
        return _service_unavailable(error, _LIMITS_DOWN.get(request.endpoint))

    @app.errorhandler(DBAPIError)
    def _database_error(error: DBAPIError):
        return _service_unavailable(error) if _database_down(error) else _unexpected(error)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        # The route and exception, never the request's values: bodies and query strings hold
        # personal data, and so may a database driver's message (hence its first line only).
        if isinstance(error, DBAPIError):
            stack = "".join(traceback.format_tb(error.__traceback__))
            log.error("Unhandled error on %s: %s\n%s", _where(), _summary(error), stack)
        else:
            log.exception("Unhandled error on %s", _where())
        from .extensions import db

        db.session.rollback()
        return error_response(500)
