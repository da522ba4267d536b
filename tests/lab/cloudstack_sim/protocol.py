"""Wire shapes of the CloudStack API: errors, list and object responses, paging, parameters."""
from __future__ import annotations

import uuid as uuidlib
from dataclasses import dataclass, field
from datetime import datetime, timezone

PARAM_ERROR = 431
UNSUPPORTED = 432
INTERNAL_ERROR = 530
PERMISSION_DENIED = 531
UNAUTHORIZED = 401
API_LIMIT = 429
MAX_PAGE_SIZE = 500

CS_BARE = 9999
CS_INVALID_PARAMETER = 4350
CS_CLOUD_RUNTIME = 4250
CS_PERMISSION_DENIED = 4365
CS_REQUEST_LIMIT = 4545

SIGNATURE_TEXT = "unable to verify user credentials and/or request signature"


@dataclass
class ApiError(Exception):
    """A ServerApiException: HTTP status = code; also the failure of a job (errorcode, errortext)."""
    code: int
    text: str
    cserrorcode: int = CS_BARE
    uuids: list = field(default_factory=list)

    def __str__(self):
        return self.text


def invalid_parameter(text: str) -> ApiError:
    """InvalidParameterValueException."""
    return ApiError(PARAM_ERROR, text, CS_INVALID_PARAMETER)


def runtime_error(text: str) -> ApiError:
    """CloudRuntimeException."""
    return ApiError(INTERNAL_ERROR, text, CS_CLOUD_RUNTIME)


def missing_parameter(cmd: str, name: str) -> ApiError:
    return ApiError(PARAM_ERROR, f"Unable to execute API command {cmd} due to missing parameter {name}")


def invalid_value(cmd: str, name: str, value: str) -> ApiError:
    return ApiError(PARAM_ERROR, f"Unable to execute API command {cmd} due to invalid value {value} for parameter {name}")


def invalid_entity(cmd: str, name: str, value: str) -> ApiError:
    return ApiError(PARAM_ERROR, (
        f"Unable to execute API command {cmd} due to invalid value. Invalid parameter {name} value={value} "
        "due to incorrect long value format, or entity does not exist or due to incorrect parameter "
        "annotation for the field in api cmd class."))


def error_body(response_name: str, error: ApiError, with_cserrorcode: bool = True) -> dict:
    inner = {"uuidList": list(error.uuids), "errorcode": error.code}
    if with_cserrorcode:
        inner["cserrorcode"] = error.cserrorcode
    inner["errortext"] = error.text
    return {response_name: inner}


def list_content(object_name: str, items: list, count: int) -> dict:
    """count first; nothing at all is {}; a page past the end still carries the total count."""
    content = {"count": count} if count else {}
    if items:
        content[object_name] = items
    return content


def now_text(when: datetime | None = None) -> str:
    """Gson's yyyy-MM-dd'T'HH:mm:ssZ."""
    return (when or datetime.now(timezone.utc)).strftime("%Y-%m-%dT%H:%M:%S+0000")


def is_uuid(text: str) -> bool:
    try:
        uuidlib.UUID(text)
    except (ValueError, AttributeError, TypeError):
        return False
    return True


def parse_bool(value: str | None, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    return value.lower() == "true"


def page_window(cmd: str, params: dict) -> tuple[int, int | None]:
    """BaseListCmd rules; returns (offset, limit) with limit None for unlimited."""
    page_text, size_text = params.get("page"), params.get("pagesize")
    page = _int_param(cmd, "page", page_text)
    size = _int_param(cmd, "pagesize", size_text)
    if size is not None and page is None and size != -1:
        raise ApiError(PARAM_ERROR, '"page" parameter is required when "pagesize" is specified')
    if page is not None and size is None:
        raise ApiError(PARAM_ERROR, '"pagesize" parameter is required when "page" is specified')
    if size == -1:
        if page is not None:
            raise invalid_parameter("Can't specify page parameter when pagesize is -1 (Unlimited)")
        return 0, None
    if size is None:
        return 0, MAX_PAGE_SIZE
    if size > MAX_PAGE_SIZE:
        raise invalid_parameter(f"Page size can't exceed max allowed page size value: {MAX_PAGE_SIZE}")
    if size < 1 or page < 1:
        raise invalid_parameter("Page and pagesize parameters must be positive")
    return (page - 1) * size, size


def _int_param(cmd: str, name: str, text: str | None) -> int | None:
    if text is None or text == "":
        return None
    try:
        return int(text)
    except ValueError:
        raise invalid_value(cmd, name, text) from None


def paged(cmd: str, params: dict, items: list) -> tuple[list, int]:
    offset, limit = page_window(cmd, params)
    window = items[offset:] if limit is None else items[offset:offset + limit]
    return window, len(items)
