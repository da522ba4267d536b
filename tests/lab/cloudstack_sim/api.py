"""/client/api: authentication, dispatch to a command, and the HTTP answer (status, headers, body)."""
from __future__ import annotations

from dataclasses import dataclass

from . import signing
from .protocol import (API_LIMIT, CS_REQUEST_LIMIT, INTERNAL_ERROR, SIGNATURE_TEXT, UNAUTHORIZED, UNSUPPORTED, ApiError,
                       error_body, invalid_entity, is_uuid, missing_parameter, parse_bool)
from .views import Catalog

DROP = "drop"
LOST_ANSWER = "lost_answer"  # the command runs, then the connection closes without an answer
HIDDEN_TEXT = "Internal error executing command, please contact your system administrator"


@dataclass
class Command:
    name: str
    handler: object
    response_name: str
    admin_only: bool = False
    cmd_class: str = ""
    admin_cmd_class: str = ""


@dataclass
class Answer:
    status: int
    body: dict | None
    description: str | None = None


class Request:
    """What a command handler sees: the simulator, the caller, the view and the parameters."""

    def __init__(self, sim, command: Command, account: dict, params: dict):
        self.sim = sim
        self.store = sim.store
        self.command = command
        self.account = account
        self.full = account["role"] == "admin"
        self.params = params
        self.catalog = Catalog(sim.store)

    @property
    def short_name(self) -> str:
        return self.command.response_name[:-len("response")]

    @property
    def cmd_class(self) -> str:
        return self.command.admin_cmd_class if self.full and self.command.admin_cmd_class else self.command.cmd_class

    def get(self, name: str, default=None):
        value = self.params.get(name)
        return default if value is None or value == "" else value

    def require(self, name: str) -> str:
        value = self.get(name)
        if value is None:
            raise missing_parameter(self.short_name, name)
        return value

    def entity(self, name: str, table: str, required: bool = False) -> dict | None:
        """A UUID-typed parameter resolved to its row, with ParamProcessWorker's texts."""
        value = self.require(name) if required else self.get(name)
        if value is None:
            return None
        row = self.store.by_uuid(table, value) if is_uuid(value) else None
        if row is None or row.get("removed"):
            raise invalid_entity(self.short_name, name, value)
        return row

    def sees_all_accounts(self) -> bool:
        """Root admins see every account with listall=true or an id; everyone else sees their own."""
        return self.full and (parse_bool(self.get("listall")) or self.get("id") is not None)


def handle(sim, commands: dict, params: dict) -> Answer:
    name = params.get("command")
    if not name:
        return _error("errorresponse", ApiError(UNSUPPORTED, "Invalid request, no command sent"))
    command = commands.get(name)
    if command is None:
        return _unauthorized("errorresponse")
    account = _authenticate(sim, params)
    if account is None:
        return _unauthorized(command.response_name)
    fault = sim.take_call_fault(name)
    if fault is not None and fault.status == LOST_ANSWER:
        _run(sim, command, account, params)
        return Answer(0, None)
    if fault is not None:
        return _fault_answer(command, fault.status)
    if command.admin_only and account["role"] != "admin":
        text = f"The given command '{name}' either does not exist, is not available for user."
        return _error(command.response_name, ApiError(UNAUTHORIZED, text))
    return _run(sim, command, account, params)


def _authenticate(sim, params: dict) -> dict | None:
    key, signature = params.get("apiKey"), params.get("signature")
    if not key or not signature:
        return None
    account = sim.store.one("SELECT * FROM accounts WHERE api_key = ?", (key,))
    if account is None or not signing.signature_matches(params, account["secret"], signature):
        return None
    if signing.expired(params):
        return None
    return account


def _run(sim, command: Command, account: dict, params: dict) -> Answer:
    request = Request(sim, command, account, params)
    try:
        body = command.handler(request)
    except ApiError as error:
        return _error(command.response_name, error)
    except Exception as error:  # ApiServer turns anything unexpected into a 530
        text = str(error) if request.full else HIDDEN_TEXT
        return _error(command.response_name, ApiError(INTERNAL_ERROR, text))
    return Answer(200, {command.response_name: body})


def _fault_answer(command: Command, status) -> Answer:
    if status == DROP:
        return Answer(0, None)
    if int(status) == API_LIMIT:
        text = "The given user has reached his/her account api limit, please retry after 1000 ms."
        return _error(command.response_name, ApiError(API_LIMIT, text, CS_REQUEST_LIMIT))
    return _error(command.response_name, ApiError(int(status), "Simulated fault injected by the lab"))


def _unauthorized(response_name: str) -> Answer:
    error = ApiError(UNAUTHORIZED, SIGNATURE_TEXT)
    return Answer(UNAUTHORIZED, error_body(response_name, error, with_cserrorcode=False), SIGNATURE_TEXT)


def _error(response_name: str, error: ApiError) -> Answer:
    if error.code == UNSUPPORTED:
        response_name = "errorresponse"
    return Answer(error.code, error_body(response_name, error), error.text)
