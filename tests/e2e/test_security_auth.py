"""Accounts under attack: outsiders at other client addresses try to lock
users out, void their codes, guess codes, or take over a pending
registration — through the public HTTP API, each client bound to its own
127.0.0.x source address. Also: nexus-auth's files are private."""

import os
import stat
import time

import pytest

from harness import DEFAULT_AUTH_LIMITS, assert_json_error, new_user, other_code

COOLDOWN_S = 2
BACKOFF_S = 60
ACCOUNT_BURST = 3
VERIFY_BURST = 10
TOTAL_WRONG = 12

# The built-in limits, made small where a test must reach them quickly. The
# login backoff starts at 60 s so that a test never races its first second.
ENV = dict(DEFAULT_AUTH_LIMITS, **{
    "NEXUS_AUTH_RESEND_COOLDOWN_SECONDS": str(COOLDOWN_S),
    "NEXUS_AUTH_LOGIN_BACKOFF_SECONDS": str(BACKOFF_S),
    "NEXUS_AUTH_ACCOUNT_RATE_BURST": str(ACCOUNT_BURST),
    "NEXUS_AUTH_ACCOUNT_RATE_REFILL_SECONDS": "600",
    "NEXUS_AUTH_VERIFY_IP_RATE_BURST": str(VERIFY_BURST),
    "NEXUS_AUTH_VERIFY_IP_RATE_REFILL_SECONDS": "600",
    "NEXUS_AUTH_OTP_MAX_ATTEMPTS_TOTAL": str(TOTAL_WRONG),
})


@pytest.fixture(scope="module")
def inst(module_nexus_factory):
    return module_nexus_factory(env=ENV, name="secauth")


@pytest.fixture
def nexus(inst, attach_logs):
    attach_logs(inst)
    return inst


def register_init(api, user):
    return api.post("/auth/register/init", json={"Username": user.username,
                                                 "Password": user.password, "Email": user.email})


def register_from(inst, source, user):
    """Registers `user` with every request coming from `source`."""
    api = inst.api_from(source)
    mark = inst.sink.mark()
    r = register_init(api, user)
    assert r.status_code == 200, r.text
    code = inst.sink.wait_for_code(user.email, since=mark)
    r = api.post("/auth/register/verify", json={"Email": user.email, "Code": code})
    assert r.status_code == 200, r.text
    return user


def login_code_from(inst, source, user):
    """Login init from `source`; returns the mailed code."""
    mark = inst.sink.mark()
    r = inst.api_from(source).post("/auth/login/init",
                                   json={"Username": user.username, "Password": user.password})
    assert r.status_code == 200, r.text
    return inst.sink.wait_for_code(user.email, since=mark)


def assert_retry_after(resp, low, high):
    value = resp.headers.get("Retry-After", "")
    assert value.isdigit() and low <= int(value) <= high, resp.headers


# ---------------------------------------------------------------- passwords


def test_wrong_passwords_from_another_address_do_not_lock_the_owner_out(nexus):
    alice = register_from(nexus, "127.0.0.11", new_user("alice"))
    attacker = nexus.api_from("127.0.0.66")
    answers = [attacker.post("/auth/login/init",
                             json={"Username": alice.username, "Password": f"guess-{i}"})
               for i in range(8)]
    # The outsider is slowed down after five failures...
    assert [r.status_code for r in answers] == [401] * 5 + [429] * 3, [r.text for r in answers]
    for r in answers[5:]:
        assert_json_error(r, 429)
        assert_retry_after(r, 1, BACKOFF_S)

    # ...and alice, at her own address, signs in as if nothing happened.
    code = login_code_from(nexus, "127.0.0.11", alice)
    r = nexus.api_from("127.0.0.11").post("/auth/login/verify",
                                          json={"Email": alice.email, "Code": code})
    assert r.status_code == 200, r.text
    assert r.json()["username"] == alice.username


def test_wrong_passwords_slow_down_only_that_account_at_that_address(nexus):
    alice = register_from(nexus, "127.0.0.12", new_user("alice"))
    bob = register_from(nexus, "127.0.0.12", new_user("bob"))
    attacker = nexus.api_from("127.0.0.67")
    for i in range(5):
        r = attacker.post("/auth/login/init",
                          json={"Username": alice.username, "Password": f"guess-{i}"})
        assert_json_error(r, 401)
    # Slowed down even with the right password: the pair waits, whatever it sends.
    r = attacker.post("/auth/login/init",
                      json={"Username": alice.username, "Password": alice.password})
    assert_json_error(r, 429)
    assert_retry_after(r, BACKOFF_S - 5, BACKOFF_S)
    # Another account from the same address is not slowed down.
    r = attacker.post("/auth/login/init", json={"Username": bob.username, "Password": "nope-nope"})
    assert_json_error(r, 401)
    # Nor is alice's account from another address.
    login_code_from(nexus, "127.0.0.12", alice)


def test_the_account_cap_counts_only_codes_actually_mailed(nexus):
    alice = register_from(nexus, "127.0.0.13", new_user("alice"))
    attacker = nexus.api_from("127.0.0.68")
    for i in range(ACCOUNT_BURST + 2):
        r = attacker.post("/auth/login/init",
                          json={"Username": alice.username, "Password": f"guess-{i}"})
        assert_json_error(r, 401)
    # Wrong passwords drew nothing: alice gets her ACCOUNT_BURST codes...
    for i in range(ACCOUNT_BURST):
        if i:
            time.sleep(COOLDOWN_S + 0.2)
        login_code_from(nexus, "127.0.0.13", alice)
    # ...and then the account's cap on mailed codes applies.
    time.sleep(COOLDOWN_S + 0.2)
    r = nexus.api_from("127.0.0.13").post(
        "/auth/login/init", json={"Username": alice.username, "Password": alice.password})
    assert_json_error(r, 429)
    assert_retry_after(r, 1, 600)
    # The registration's code and ACCOUNT_BURST login codes: nothing more.
    assert len(nexus.sink.mails_to(alice.email)) == 1 + ACCOUNT_BURST


# ---------------------------------------------------------------- codes


def test_wrong_codes_from_another_address_do_not_void_a_registration_code(nexus):
    bob = new_user("bob")
    owner, attacker = nexus.api_from("127.0.0.21"), nexus.api_from("127.0.0.69")
    mark = nexus.sink.mark()
    assert register_init(owner, bob).status_code == 200
    code = nexus.sink.wait_for_code(bob.email, since=mark)
    for _ in range(8):
        r = attacker.post("/auth/register/verify",
                          json={"Email": bob.email, "Code": other_code(code)})
        assert_json_error(r, 401)
    # Five tries per address: now even the right code fails from there...
    r = attacker.post("/auth/register/verify", json={"Email": bob.email, "Code": code})
    assert_json_error(r, 401)
    # ...but bob's code still works for bob.
    r = owner.post("/auth/register/verify", json={"Email": bob.email, "Code": code})
    assert r.status_code == 200, r.text
    assert r.json()["username"] == bob.username


def test_wrong_codes_from_another_address_do_not_void_a_login_code(nexus):
    bob = register_from(nexus, "127.0.0.22", new_user("bob"))
    attacker = nexus.api_from("127.0.0.70")
    code = login_code_from(nexus, "127.0.0.22", bob)
    for _ in range(8):
        r = attacker.post("/auth/login/verify", json={"Email": bob.email, "Code": other_code(code)})
        assert_json_error(r, 401)
    assert_json_error(attacker.post("/auth/login/verify",
                                    json={"Email": bob.email, "Code": code}), 401)
    r = nexus.api_from("127.0.0.22").post("/auth/login/verify",
                                          json={"Email": bob.email, "Code": code})
    assert r.status_code == 200, r.text
    assert r.json()["username"] == bob.username


def _wrong_codes(nexus, email, code, count, first_source=30):
    """`count` wrong codes for `email`, five per address from 127.0.0.<first_source> on."""
    for i in range(count):
        api = nexus.api_from(f"127.0.0.{first_source + i // 5}")
        r = api.post("/auth/register/verify", json={"Email": email, "Code": other_code(code)})
        assert_json_error(r, 401)


def test_a_code_survives_wrong_tries_below_the_total_from_many_addresses(nexus):
    carol = new_user("carol")
    owner = nexus.api_from("127.0.0.23")
    mark = nexus.sink.mark()
    assert register_init(owner, carol).status_code == 200
    code = nexus.sink.wait_for_code(carol.email, since=mark)
    _wrong_codes(nexus, carol.email, code, TOTAL_WRONG - 1, first_source=30)
    r = owner.post("/auth/register/verify", json={"Email": carol.email, "Code": code})
    assert r.status_code == 200, r.text


def test_the_total_of_wrong_tries_from_all_addresses_voids_a_code(nexus):
    dave = new_user("dave")
    owner = nexus.api_from("127.0.0.24")
    mark = nexus.sink.mark()
    assert register_init(owner, dave).status_code == 200
    code = nexus.sink.wait_for_code(dave.email, since=mark)
    _wrong_codes(nexus, dave.email, code, TOTAL_WRONG, first_source=35)
    assert_json_error(owner.post("/auth/register/verify",
                                 json={"Email": dave.email, "Code": code}), 401)
    # The registration never happened.
    r = owner.post("/auth/login/init", json={"Username": dave.username, "Password": dave.password})
    assert_json_error(r, 401)


def test_verify_routes_are_rate_limited_per_client_address(nexus):
    guesser = nexus.api_from("127.0.0.40")
    for i in range(VERIFY_BURST):
        r = guesser.post("/auth/login/verify",
                         json={"Email": f"nobody{i}@example.com", "Code": "123456"})
        assert_json_error(r, 401)
    r = guesser.post("/auth/register/verify", json={"Email": "x@example.com", "Code": "123456"})
    assert_json_error(r, 429)
    assert_retry_after(r, 1, 600)
    # Other addresses are not limited, and the init routes have their own budget.
    assert_json_error(nexus.api_from("127.0.0.41").post(
        "/auth/login/verify", json={"Email": "x@example.com", "Code": "123456"}), 401)
    assert register_init(guesser, new_user("later")).status_code == 200


# ---------------------------------------------------------------- pending registrations


def test_a_second_register_init_does_not_take_over_a_pending_registration(nexus):
    victim, mallory = new_user("victim"), new_user("mallory")
    mallory.email = victim.email
    owner, attacker = nexus.api_from("127.0.0.50"), nexus.api_from("127.0.0.51")

    mark = nexus.sink.mark()
    assert register_init(owner, victim).status_code == 200
    first = nexus.sink.wait_for_code(victim.email, since=mark)

    # Within the cooldown: refused.
    r = register_init(attacker, mallory)
    assert_json_error(r, 429)
    assert_retry_after(r, 1, COOLDOWN_S)

    # After it: answered like any init, and a new code goes to the email's
    # owner, for the registration already pending there.
    time.sleep(COOLDOWN_S + 0.2)
    mark = nexus.sink.mark()
    r = register_init(attacker, mallory)
    assert r.status_code == 200, r.text
    assert r.json() == {"message": "OTP sent to email"}
    mail = nexus.sink.wait_for_mail(victim.email, since=mark)
    code = nexus.sink.wait_for_code(victim.email, since=mark)

    if code != first:
        assert_json_error(owner.post("/auth/register/verify",
                                     json={"Email": victim.email, "Code": first}), 401)
    r = owner.post("/auth/register/verify", json={"Email": victim.email, "Code": code})
    assert r.status_code == 200, r.text
    assert r.json()["username"] == victim.username
    # The mail said which registration the code confirms.
    assert victim.username in mail.text and mallory.username not in mail.text, mail.text

    # The account has the victim's name and password, not mallory's.
    r = attacker.post("/auth/login/init",
                      json={"Username": mallory.username, "Password": mallory.password})
    assert_json_error(r, 401)
    r = attacker.post("/auth/login/init",
                      json={"Username": victim.username, "Password": mallory.password})
    assert_json_error(r, 401)
    login_code_from(nexus, "127.0.0.50", victim)


# ---------------------------------------------------------------- files


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_auth_files_are_private_to_the_service_user(nexus_factory):
    # The usual umask would leave files 0644 and directories 0755; nexus-auth
    # must not depend on it. The outbox (no SMTP) writes codes to disk.
    old = os.umask(0o022)
    try:
        priv = nexus_factory(env={"NEXUS_MAIL_SMTP_URL": ""}, name="perms", start=False)
        priv.start()
    finally:
        os.umask(old)
    user = new_user("perm")
    r = register_init(priv.api, user)
    assert r.status_code == 200, r.text

    d = priv.data_dir
    files = ["jwt.key"]
    if priv.env.get("NEXUS_AUTH_METADATA", "sqlite") == "sqlite":
        files += ["auth.db", "auth.db-wal", "auth.db-shm"]
    outbox = os.path.join(d, "mail", "outbox")
    mails = [os.path.join("mail", "outbox", f) for f in os.listdir(outbox)]
    assert mails, "no mail in the outbox"
    for rel in files + mails:
        assert _mode(os.path.join(d, rel)) == 0o600, f"{rel} is {_mode(os.path.join(d, rel)):o}"
    for rel in ("mail", os.path.join("mail", "outbox")):
        assert _mode(os.path.join(d, rel)) == 0o700, f"{rel} is {_mode(os.path.join(d, rel)):o}"
