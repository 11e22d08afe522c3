"""Error types services raise, and the error pages every response shares."""
from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

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
    403: ("没有权限", "这个页面只对本小区的工作人员开放。"),
    404: ("页面不存在", "您要找的内容不存在，或已被删除。"),
    405: ("请求有误", "这个操作不能这样打开。"),
    410: ("已失效", "这个链接已经失效。"),
    413: ("文件太大", "上传的照片太大（每张不超过10MB，最多9张）。请返回上一页，已填写的文字还在，去掉或压缩部分照片后再提交。"),
    429: ("操作太频繁", "尝试次数过多，请稍后再试。"),
    500: ("服务器开小差了", "我们已记录这个问题，请稍后再试。"),
}


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def error_response(status: int, message: str | None = None):
    title, default_message = _MESSAGES.get(status, _MESSAGES[500])
    message = message or default_message
    if _wants_json():
        return jsonify(error=message, status=status), status
    return render_template("errors/error.html", status=status, title=title, message=message), status


def init_app(app: Flask) -> None:
    @app.errorhandler(PermissionDenied)
    def _permission_denied(error: PermissionDenied):
        return error_response(404 if error.decision is Decision.NOT_FOUND else 403)

    @app.errorhandler(CSRFError)
    def _csrf(_error):
        return error_response(400, "页面已过期，请刷新后重新提交。")

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException):
        if error.code is None or error.code < 400:
            return error
        return error_response(error.code)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        # Log the path and type only: request bodies may hold personal data.
        log.exception("Unhandled error on %s %s", request.method, request.path)
        from .extensions import db

        db.session.rollback()
        return error_response(500)
