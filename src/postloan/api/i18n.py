"""Language of API messages: zh-CN by default, en on request.

The language comes from ``?lang=``, the ``postloan_lang`` cookie or
``Accept-Language`` (in that order). Errors raised by the API itself carry a
message key and are fully translated; other errors get a translated title for
their code, and their own (English) text in ``details.reason``.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from postloan.domain.errors import PostLoanError

LANGUAGES = ("zh-CN", "en")
DEFAULT = "zh-CN"

# code -> (zh-CN, en): the title of an error of that code
TITLES: dict[str, tuple[str, str]] = {
    "not_authenticated": ("未登录或凭证无效", "not authenticated"),
    "too_many_requests": ("请求过于频繁", "too many requests"),
    "permission_denied": ("无权执行此操作", "permission denied"),
    "not_found": ("对象不存在", "not found"),
    "conflict": ("与当前数据冲突", "conflict with the stored state"),
    "illegal_transition": ("不允许的状态变更", "illegal state transition"),
    "validation_error": ("输入不符合要求", "invalid input"),
    "invalid_terms": ("贷款条款无效", "invalid loan terms"),
    "domain_error": ("业务规则不允许", "not allowed by a business rule"),
    "feed_error": ("文件无法读取", "the file cannot be read"),
    "config_error": ("系统配置有误", "configuration error"),
    "method_not_allowed": ("不支持该请求方法", "method not allowed"),
    "csrf_failed": ("表单已过期，请刷新页面后重试", "CSRF check failed"),
    "internal_error": ("服务器内部错误", "internal server error"),
    "postloan_error": ("操作失败", "the operation failed"),
    "http_error": ("请求失败", "request failed"),
}

# key -> (zh-CN, en); formatted with the error's params
MESSAGES: dict[str, tuple[str, str]] = {
    "auth.bad_credentials": ("用户名或密码错误", "wrong user name or password"),
    "auth.locked": (
        "登录失败次数过多，账户已临时锁定，请 {minutes} 分钟后再试或联系管理员",
        "too many failed logins: the account is locked; try again in {minutes} minutes "
        "or ask an admin",
    ),
    "auth.disabled": ("账户已停用，请联系管理员", "the account is disabled; ask an admin"),
    "auth.rate_limited": (
        "登录尝试过于频繁，请 {seconds} 秒后再试",
        "too many login attempts; wait {seconds} seconds",
    ),
    "auth.missing": (
        "请先登录（Bearer 令牌、X-API-Key 或会话）",
        "log in first (a bearer token, an X-API-Key or a session)",
    ),
    "auth.invalid_token": (
        "令牌无效或已过期，请重新登录",
        "the token is invalid or expired; log in again",
    ),
    "auth.invalid_key": ("API 密钥无效或已吊销", "the API key is invalid or revoked"),
    "auth.csrf": (
        "缺少或错误的 CSRF 令牌，请刷新页面后重试",
        "missing or wrong CSRF token; reload the page and try again",
    ),
    "perm.denied": (
        "角色 {role} 没有权限 {permission}",
        "role {role} does not have permission {permission}",
    ),
    "route.not_found": ("请求的地址不存在：{path}", "no such endpoint: {path}"),
}


def negotiate(request: Request) -> str:
    """The response language for ``request``."""
    explicit = request.query_params.get("lang") or request.cookies.get("postloan_lang")
    if explicit:
        return _match(explicit) or DEFAULT
    header = request.headers.get("accept-language", "")
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag and quality > 0:
            ranked.append((-quality, position, tag))
    for _, _, tag in sorted(ranked):
        if (found := _match(tag)) is not None:
            return found
    return DEFAULT


def _match(tag: str) -> str | None:
    primary = tag.strip().lower().split("-")[0].split("_")[0]
    return {"zh": "zh-CN", "en": "en"}.get(primary)


def localized(cls: type[PostLoanError], key: str, **params: Any) -> PostLoanError:
    """An error of ``cls`` whose message is ``MESSAGES[key]`` (English as its text)."""
    err = cls(MESSAGES[key][1].format(**params))
    err.message_key = key  # type: ignore[attr-defined]
    err.message_params = params  # type: ignore[attr-defined]
    return err


def message_of(err: PostLoanError, lang: str) -> tuple[str, dict[str, Any]]:
    """The message of ``err`` in ``lang`` and the details to send along."""
    index = 0 if lang == "zh-CN" else 1
    key = getattr(err, "message_key", None)
    if key in MESSAGES:
        params = getattr(err, "message_params", {})
        return MESSAGES[key][index].format(**params), dict(params)
    if lang == "en":
        return str(err), {}
    title = TITLES.get(err.code, TITLES["postloan_error"])[index]
    return title, {"reason": str(err)}


def title(code: str, lang: str) -> str:
    return TITLES.get(code, TITLES["http_error"])[0 if lang == "zh-CN" else 1]
