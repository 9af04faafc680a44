"""Accounts: registration and login with emailed one-time codes, tokens,
logout, and the limits around them — through the public HTTP API."""

import base64
import hashlib
import hmac
import json
import time

import pytest

from harness import assert_json_error, login, new_user, other_code, register


def test_register_then_login_with_the_contracts_exact_requests(nexus):
    api, sink, user = nexus.api, nexus.sink, new_user("alice")

    mark = sink.mark()
    r = api.post("/auth/register/init", json={"Username": user.username,
                                              "Password": user.password, "Email": user.email})
    assert r.status_code == 200, r.text
    assert r.json() == {"message": "OTP sent to email"}
    code = sink.wait_for_code(user.email, since=mark)

    r = api.post("/auth/register/verify", json={"Email": user.email, "Code": code})
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"token", "username"}
    assert body["username"] == user.username
    assert body["token"].count(".") == 2

    mark = sink.mark()
    r = api.post("/auth/login/init", json={"Username": user.username, "Password": user.password})
    assert r.status_code == 200, r.text
    assert r.json() == {"message": f"OTP sent to {user.email}"}
    code = sink.wait_for_code(user.email, since=mark)

    r = api.post("/auth/login/verify", json={"Email": user.email, "Code": code})
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"token", "username"}
    assert body["username"] == user.username

    r = api.get("/api/me", token=body["token"])
    assert r.status_code == 200, r.text
    me = r.json()
    assert {"username", "email", "created", "created_at"} <= set(me)
    assert me["username"] == user.username
    assert me["email"] == user.email
    assert isinstance(me["created_at"], int) and abs(me["created_at"] - time.time()) < 600


def test_lower_case_field_names_work_too(nexus):
    api, sink, user = nexus.api, nexus.sink, new_user("lower")
    mark = sink.mark()
    r = api.post("/auth/register/init", json={"username": user.username,
                                              "password": user.password, "email": user.email})
    assert r.status_code == 200, r.text
    code = sink.wait_for_code(user.email, since=mark)
    r = api.post("/auth/register/verify", json={"email": user.email, "code": code})
    assert r.status_code == 200, r.text
    assert r.json()["username"] == user.username

    mark = sink.mark()
    r = api.post("/auth/login/init", json={"username": user.username, "password": user.password})
    assert r.status_code == 200, r.text
    code = sink.wait_for_code(user.email, since=mark)
    r = api.post("/auth/login/verify", json={"email": user.email, "code": code})
    assert r.status_code == 200, r.text
    assert api.get("/api/me", token=r.json()["token"]).status_code == 200


def test_the_mail_carries_the_code_and_no_service_log_does(nexus):
    user = new_user("mail")
    mark = nexus.sink.mark()
    r = nexus.api.post("/auth/register/init", json={"Username": user.username,
                                                    "Password": user.password,
                                                    "Email": user.email})
    assert r.status_code == 200, r.text
    mail = nexus.sink.wait_for_mail(user.email, since=mark)
    code = nexus.sink.wait_for_code(user.email, since=mark)
    assert user.email in mail.message["To"]
    assert mail.message["Subject"]
    r = nexus.api.post("/auth/register/verify", json={"Email": user.email, "Code": code})
    assert r.status_code == 200, r.text
    token = r.json()["token"]

    for service, text in nexus.logs().items():
        assert code not in text, f"{service} logged the one-time code"
        assert user.password not in text, f"{service} logged the password"
        assert token not in text, f"{service} logged the token"


def test_five_wrong_codes_use_up_the_tries_of_that_address(nexus):
    # Even the right code is then refused from that address (other addresses
    # keep theirs: test_security_auth.py).
    api, sink, user = nexus.api, nexus.sink, new_user("wrong")
    mark = sink.mark()
    r = api.post("/auth/register/init", json={"Username": user.username,
                                              "Password": user.password, "Email": user.email})
    assert r.status_code == 200, r.text
    code = sink.wait_for_code(user.email, since=mark)

    for _ in range(5):
        r = api.post("/auth/register/verify", json={"Email": user.email, "Code": other_code(code)})
        assert_json_error(r, 401)
    r = api.post("/auth/register/verify", json={"Email": user.email, "Code": code})
    assert_json_error(r, 401)
    # The registration never completed.
    r = api.post("/auth/login/init", json={"Username": user.username, "Password": user.password})
    assert_json_error(r, 401)


def test_five_wrong_login_codes_use_up_the_tries_of_that_address(nexus):
    api, sink, user = nexus.api, nexus.sink, new_user("wlogin")
    register(nexus, user)
    mark = sink.mark()
    r = api.post("/auth/login/init", json={"Username": user.username, "Password": user.password})
    assert r.status_code == 200, r.text
    code = sink.wait_for_code(user.email, since=mark)
    for _ in range(5):
        r = api.post("/auth/login/verify", json={"Email": user.email, "Code": other_code(code)})
        assert_json_error(r, 401)
    assert_json_error(api.post("/auth/login/verify", json={"Email": user.email, "Code": code}), 401)


def test_an_expired_code_is_refused(nexus_factory):
    inst = nexus_factory(env={"NEXUS_AUTH_OTP_TTL_SECONDS": "1"}, name="ttl")
    user = new_user("ttl")
    mark = inst.sink.mark()
    r = inst.api.post("/auth/register/init", json={"Username": user.username,
                                                   "Password": user.password,
                                                   "Email": user.email})
    assert r.status_code == 200, r.text
    code = inst.sink.wait_for_code(user.email, since=mark)
    time.sleep(2.1)
    r = inst.api.post("/auth/register/verify", json={"Email": user.email, "Code": code})
    assert_json_error(r, 401)


def test_asking_for_a_new_code_too_soon_is_rate_limited_with_retry_after(nexus):
    api, user = nexus.api, new_user("resend")
    body = {"Username": user.username, "Password": user.password, "Email": user.email}
    assert api.post("/auth/register/init", json=body).status_code == 200
    r = api.post("/auth/register/init", json=body)
    assert_json_error(r, 429)
    retry_after = r.headers.get("Retry-After")
    assert retry_after is not None and retry_after.isdigit(), r.headers
    assert 1 <= int(retry_after) <= 30


def test_login_code_resend_is_rate_limited_too(nexus):
    api, user = nexus.api, new_user("lresend")
    register(nexus, user)
    body = {"Username": user.username, "Password": user.password}
    assert api.post("/auth/login/init", json=body).status_code == 200
    r = api.post("/auth/login/init", json=body)
    assert_json_error(r, 429)
    assert r.headers.get("Retry-After", "").isdigit(), r.headers


def test_duplicate_username_and_duplicate_email_conflict(nexus):
    api, user = nexus.api, new_user("dup")
    register(nexus, user)
    other = new_user("dup")

    r = api.post("/auth/register/init", json={"Username": user.username,
                                              "Password": other.password, "Email": other.email})
    assert_json_error(r, 409)
    r = api.post("/auth/register/init", json={"Username": other.username,
                                              "Password": other.password, "Email": user.email})
    assert_json_error(r, 409)
    # Email addresses compare case-insensitively.
    r = api.post("/auth/register/init", json={"Username": other.username,
                                              "Password": other.password,
                                              "Email": user.email.upper()})
    assert_json_error(r, 409)


BAD_REGISTRATIONS = [
    ("username too short", {"Username": "ab", "Password": "secret-pw", "Email": "x@example.com"}),
    ("username with a space", {"Username": "bad name", "Password": "secret-pw",
                               "Email": "x@example.com"}),
    ("username missing", {"Password": "secret-pw", "Email": "x@example.com"}),
    ("email without @", {"Username": "okname", "Password": "secret-pw", "Email": "not-an-email"}),
    ("email missing", {"Username": "okname", "Password": "secret-pw"}),
    ("password too short", {"Username": "okname", "Password": "123", "Email": "x@example.com"}),
    ("password missing", {"Username": "okname", "Email": "x@example.com"}),
    ("username not a string", {"Username": 42, "Password": "secret-pw", "Email": "x@example.com"}),
]


@pytest.mark.parametrize("case,body", BAD_REGISTRATIONS, ids=[c for c, _ in BAD_REGISTRATIONS])
def test_bad_registration_input_is_a_400(nexus, case, body):
    assert_json_error(nexus.api.post("/auth/register/init", json=body), 400)


def test_wrong_password_and_unknown_user_get_the_same_401(nexus):
    api, user = nexus.api, new_user("pwcheck")
    register(nexus, user)
    wrong = api.post("/auth/login/init", json={"Username": user.username, "Password": "nope-nope"})
    unknown = api.post("/auth/login/init", json={"Username": "nobody" + user.username[-8:],
                                                 "Password": "nope-nope"})
    assert assert_json_error(wrong, 401) == assert_json_error(unknown, 401)


# ---------------------------------------------------------------- tokens


def _b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _flip_signature_char(token):
    head, payload, sig = token.split(".")
    # A middle character: the last one may only carry padding bits.
    i = len(sig) // 2
    sig = sig[:i] + ("A" if sig[i] != "A" else "B") + sig[i + 1:]
    return ".".join((head, payload, sig))


def _forged(token, alg, key=b""):
    _, payload, _ = token.split(".")
    head = _b64(json.dumps({"alg": alg, "typ": "JWT"}).encode())
    signing_input = f"{head}.{payload}".encode()
    sig = _b64(hmac.new(key, signing_input, hashlib.sha256).digest()) if alg == "HS256" else ""
    return f"{head}.{payload}.{sig}"


def _with_claims(token, **changes):
    head, payload, sig = token.split(".")
    claims = json.loads(_unb64(payload))
    claims.update(changes)
    return ".".join((head, _b64(json.dumps(claims).encode()), sig))


@pytest.fixture
def registered(nexus):
    user = new_user("tok")
    register(nexus, user)
    return user


def test_a_valid_token_reaches_api_me(nexus, registered):
    assert nexus.api.get("/api/me", token=registered.token).status_code == 200


BAD_AUTHORIZATION = [
    ("missing", None),
    ("bearer without token", "Bearer"),
    ("bearer and a space", "Bearer "),
    ("basic scheme", "Basic x"),
    ("not a jwt", "Bearer not.a.jwt"),
    ("garbage", "Bearer abcdef"),
]


@pytest.mark.parametrize("case,header", BAD_AUTHORIZATION, ids=[c for c, _ in BAD_AUTHORIZATION])
def test_bad_authorization_headers_are_a_401(nexus, case, header):
    headers = {} if header is None else {"Authorization": header}
    assert_json_error(nexus.api.get("/api/me", headers=headers), 401)


def test_a_token_with_a_flipped_signature_char_is_a_401(nexus, registered):
    assert_json_error(nexus.api.get("/api/me", token=_flip_signature_char(registered.token)), 401)


def test_a_token_with_edited_claims_is_a_401(nexus, registered):
    edited = _with_claims(registered.token, exp=int(time.time()) + 10 * 365 * 86400)
    assert_json_error(nexus.api.get("/api/me", token=edited), 401)


def test_alg_none_and_foreign_keys_are_a_401(nexus, registered):
    for forged in (_forged(registered.token, "none"),
                   _forged(registered.token, "HS256", key=b"not-the-server-key")):
        assert_json_error(nexus.api.get("/api/me", token=forged), 401)


def test_logout_revokes_the_token(nexus, registered):
    r = nexus.api.post("/auth/logout", token=registered.token)
    assert r.status_code == 200, r.text
    assert r.json() == {"message": "Logged out"}
    assert_json_error(nexus.api.get("/api/me", token=registered.token), 401)


def test_logout_does_not_touch_other_sessions_of_the_user(nexus, registered):
    first = registered.token
    second = login(nexus, registered)
    assert nexus.api.post("/auth/logout", token=first).status_code == 200
    assert_json_error(nexus.api.get("/api/me", token=first), 401)
    assert nexus.api.get("/api/me", token=second).status_code == 200


def test_logout_without_a_valid_token_is_a_401(nexus):
    assert_json_error(nexus.api.post("/auth/logout"), 401)
    assert_json_error(nexus.api.post("/auth/logout", token="abc.def.ghi"), 401)


def test_a_code_for_one_email_does_not_verify_another(nexus):
    api, sink = nexus.api, nexus.sink
    a, b = new_user("ca"), new_user("cb")
    mark = sink.mark()
    for u in (a, b):
        r = api.post("/auth/register/init", json={"Username": u.username,
                                                  "Password": u.password, "Email": u.email})
        assert r.status_code == 200, r.text
    code_a = sink.wait_for_code(a.email, since=mark)
    code_b = sink.wait_for_code(b.email, since=mark)
    if code_a != code_b:
        assert_json_error(api.post("/auth/register/verify",
                                   json={"Email": b.email, "Code": code_a}), 401)
    r = api.post("/auth/register/verify", json={"Email": a.email, "Code": code_a})
    assert r.status_code == 200, r.text


def test_init_routes_are_rate_limited_per_client_address(nexus_factory):
    inst = nexus_factory(env={"NEXUS_AUTH_IP_RATE_BURST": "3",
                              "NEXUS_AUTH_IP_RATE_REFILL_SECONDS": "600"}, name="ratelimit")
    statuses = []
    last = None
    for _ in range(4):
        u = new_user("rl")
        last = inst.api.post("/auth/register/init", json={"Username": u.username,
                                                          "Password": u.password,
                                                          "Email": u.email})
        statuses.append(last.status_code)
    assert statuses[:3] == [200, 200, 200], statuses
    assert_json_error(last, 429)
    assert last.headers.get("Retry-After", "").isdigit(), last.headers
    # The login init route draws on the same per-address budget.
    r = inst.api.post("/auth/login/init", json={"Username": "someone", "Password": "whatever"})
    assert_json_error(r, 429)
