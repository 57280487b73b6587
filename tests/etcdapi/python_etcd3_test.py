#!/usr/bin/python3
"""python3-etcd3 (Debian's gRPC client library for etcd's v3 API) against one endpoint.

Run by tests/etcdapi/python_etcd3_test.cpp against revkvd's gRPC door and against a real
etcd 3.4, so every assertion here is proven against the reference too. Each check uses
keys under a prefix of its own and only relative revisions, so the two servers' histories
need not match. Exit status 0 when every check passed; one line per check on stdout
("PASS name", "FAIL name: why", "SKIP name: why").

usage: python_etcd3_test.py HOST:PORT [--only NAME,NAME...] [--skip NAME=WHY,...]
"""

import argparse
import os
import sys
import threading
import time
import traceback
import uuid

import etcd3
import grpc
from etcd3 import exceptions

COMPACTED = "etcdserver: mvcc: required revision has been compacted"
FUTURE = "etcdserver: mvcc: required revision is a future revision"
LEASE_NOT_FOUND = "etcdserver: requested lease not found"
DUPLICATE_KEY = "etcdserver: duplicate key given in txn request"
KEY_NOT_PROVIDED = "etcdserver: key is not provided"
NOT_ENOUGH_STARTED = "etcdserver: re-configuration failed due to not enough started members"


def expect_rpc_error(code, details, fn, *args, **kwargs):
    """fn(*args) must raise grpc.RpcError with exactly this code and message."""
    try:
        result = fn(*args, **kwargs)
        if hasattr(result, "__next__"):
            list(result)
    except grpc.RpcError as e:
        assert e.code() == code, "code %s, wanted %s (%s)" % (e.code(), code, e.details())
        assert e.details() == details, "message %r, wanted %r" % (e.details(), details)
        return
    raise AssertionError("no error; wanted %s %r" % (code, details))


def wait_until(what, predicate, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


def wait_ready(client, timeout=30.0):
    """The server answers (a fresh etcd takes a moment to elect itself)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            client.get_response("\0")
            return
        except grpc.RpcError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def range_raw(client, key, **fields):
    """A Range with fields python-etcd3 0.12's get* helpers drop (limit, revision,
    count_only...): the library's own generated request and stub."""
    request = etcd3.etcdrpc.RangeRequest(key=key.encode(), **fields)
    return client.kvstub.Range(request, client.timeout)


def revision(client):
    """The store's revision, as the header of a read says."""
    return client.get_response("\0").header.revision


# -- KV -------------------------------------------------------------------------------------

def check_kv(c, p):
    c.put(p + "a", "1")
    value, meta = c.get(p + "a")
    assert value == b"1", value
    assert meta.key == (p + "a").encode()
    assert meta.version == 1 and meta.create_revision == meta.mod_revision > 0
    assert meta.lease_id == 0
    assert meta.response_header.revision >= meta.mod_revision
    assert meta.response_header.cluster_id != 0 and meta.response_header.member_id != 0
    first = meta

    resp = c.put(p + "a", "2", prev_kv=True)
    assert resp.prev_kv.value == b"1" and resp.prev_kv.version == 1
    assert resp.header.revision == first.mod_revision + 1
    value, meta = c.get(p + "a")
    assert value == b"2" and meta.version == 2
    assert meta.create_revision == first.create_revision
    assert meta.mod_revision == resp.header.revision

    assert c.get(p + "missing") == (None, None)
    value, meta = c.get(p + "a", serializable=True)
    assert value == b"2"

    # An old revision of the key.
    old = range_raw(c, p + "a", revision=first.mod_revision)
    assert [kv.value for kv in old.kvs] == [b"1"]

    # put_if_not_exists and replace are transactions underneath.
    assert c.put_if_not_exists(p + "b", "x") is True
    assert c.put_if_not_exists(p + "b", "y") is False
    assert c.replace(p + "b", "x", "z") is True
    assert c.replace(p + "b", "x", "w") is False
    assert c.get(p + "b")[0] == b"z"


def check_prefix_and_range(c, p):
    for i in range(1, 6):
        c.put(p + "dir/%d" % i, "v%d" % i)
    c.put(p + "dir0", "outside")
    values = [v for v, _ in c.get_prefix(p + "dir/")]
    assert values == [b"v1", b"v2", b"v3", b"v4", b"v5"], values
    values = [v for v, _ in c.get_prefix(p + "dir/", sort_order="descend")]
    assert values == [b"v5", b"v4", b"v3", b"v2", b"v1"], values
    values = [v for v, _ in c.get_prefix(p + "dir/", sort_order="descend", sort_target="mod")]
    assert values == [b"v5", b"v4", b"v3", b"v2", b"v1"], values
    end = (p + "dir0").encode()
    limited = range_raw(c, p + "dir/", range_end=end, limit=2)
    assert [kv.value for kv in limited.kvs] == [b"v1", b"v2"] and limited.more
    assert limited.count == 5
    keys = c.get_prefix_response(p + "dir/", keys_only=True)
    assert [kv.key for kv in keys.kvs] == [(p + "dir/%d" % i).encode() for i in range(1, 6)]
    assert all(kv.value == b"" for kv in keys.kvs)
    count = range_raw(c, p + "dir/", range_end=end, count_only=True)
    assert count.count == 5 and len(count.kvs) == 0
    values = [v for v, _ in c.get_range(p + "dir/2", p + "dir/4")]
    assert values == [b"v2", b"v3"], values

    everything = {m.key: v for v, m in c.get_all()}
    assert everything[(p + "dir/3").encode()] == b"v3"
    assert everything[(p + "dir0").encode()] == b"outside"
    assert all(v == b"" for v, _ in c.get_all(keys_only=True))


def check_delete(c, p):
    c.put(p + "k", "1")
    assert c.delete(p + "k") is True
    assert c.delete(p + "k") is False
    c.put(p + "k", "2")
    resp = c.delete(p + "k", prev_kv=True, return_response=True)
    assert resp.deleted == 1 and [kv.value for kv in resp.prev_kvs] == [b"2"]
    for i in range(3):
        c.put(p + "d/%d" % i, "x")
    assert c.delete_prefix(p + "d/").deleted == 3
    assert list(c.get_prefix(p + "d/")) == []


# -- transactions ---------------------------------------------------------------------------

def check_txn(c, p):
    t = c.transactions
    c.put(p + "t", "one")
    _, meta = c.get(p + "t")
    ok, responses = c.transaction(
        compare=[t.value(p + "t") == "one", t.version(p + "t") > 0,
                 t.create(p + "t") == meta.create_revision, t.mod(p + "t") < meta.mod_revision + 1,
                 t.value(p + "t") != "two"],
        success=[t.put(p + "t", "two"), t.get(p + "t")],
        failure=[t.put(p + "t", "failed")])
    assert ok is True
    assert responses[1][0][0] == b"two"
    assert responses[0].response_put.header.revision == meta.mod_revision + 1

    ok, responses = c.transaction(
        compare=[t.value(p + "t") == "one"],
        success=[t.put(p + "t", "never")],
        failure=[t.delete(p + "t"), t.get(p + "t")])
    assert ok is False
    assert responses[0].response_delete_range.deleted == 1
    assert responses[1] == []
    assert c.get(p + "t") == (None, None)

    # A key that does not exist has create revision 0 (how locks test for a free key).
    ok, _ = c.transaction(compare=[t.create(p + "new") == 0], success=[t.put(p + "new", "1")],
                          failure=[])
    assert ok is True
    ok, _ = c.transaction(compare=[t.create(p + "new") == 0], success=[t.put(p + "new", "2")],
                          failure=[])
    assert ok is False

    # A nested txn: its response has a header of its own with revision 0, as etcd writes it.
    # Every compare, nested ones too, sees the store as it was before the txn.
    c.put(p + "before", "0")
    ok, responses = c.transaction(
        compare=[],
        success=[t.put(p + "outer", "1"),
                 etcd3.transactions.Txn(compare=[t.version(p + "before") > 0,
                                                 t.version(p + "outer") == 0],
                                        success=[t.get(p + "outer")], failure=[])],
        failure=[])
    assert ok is True
    inner = responses[1].response_txn
    assert inner.succeeded is True
    assert inner.HasField("header") and inner.header.revision == 0
    assert inner.responses[0].response_range.kvs[0].value == b"1"
    assert inner.responses[0].response_range.header.revision == \
        responses[0].response_put.header.revision

    expect_rpc_error(grpc.StatusCode.INVALID_ARGUMENT, DUPLICATE_KEY, c.transaction,
                     compare=[], success=[t.put(p + "dup", "1"), t.put(p + "dup", "2")],
                     failure=[])


# -- leases ---------------------------------------------------------------------------------

def check_leases(c, p):
    lease = c.lease(60)
    assert lease.id != 0 and lease.ttl == 60
    c.put(p + "leased", "v", lease=lease)
    assert c.get(p + "leased")[1].lease_id == lease.id
    info = c.get_lease_info(lease.id)
    assert info.ID == lease.id and info.grantedTTL == 60 and 0 < info.TTL <= 60
    assert list(info.keys) == [(p + "leased").encode()]
    assert lease.granted_ttl == 60 and 0 < lease.remaining_ttl <= 60
    assert list(lease.keys) == [(p + "leased").encode()]

    refreshed = lease.refresh()
    assert len(refreshed) == 1 and refreshed[0].ID == lease.id and refreshed[0].TTL == 60

    chosen = c.lease(30, lease_id=0x5eed0000 + (uuid.uuid4().int & 0xffff))
    assert chosen.ttl == 30
    assert c.get_lease_info(chosen.id).grantedTTL == 30

    lease.revoke()
    assert c.get(p + "leased") == (None, None)
    assert c.get_lease_info(lease.id).TTL == -1
    # Keep-alive of a gone lease: TTL 0, as etcd answers it.
    assert [r.TTL for r in lease.refresh()] == [0]
    chosen.revoke()

    expect_rpc_error(grpc.StatusCode.NOT_FOUND, LEASE_NOT_FOUND, c.revoke_lease, lease.id)
    expect_rpc_error(grpc.StatusCode.NOT_FOUND, LEASE_NOT_FOUND, c.put, p + "x", "v",
                     lease=lease.id)


def check_lease_expiry(c, p):
    lease = c.lease(1)
    c.put(p + "short", "v", lease=lease)
    assert c.get(p + "short")[0] == b"v"
    wait_until("the 1 s lease to expire and delete its key",
               lambda: c.get(p + "short") == (None, None))
    wait_until("the lease to be gone", lambda: c.get_lease_info(lease.id).TTL == -1)


# -- maintenance, cluster, compaction, errors -----------------------------------------------

def check_status_and_members(c, p):
    members = list(c.members)
    assert len(members) == 1, members
    member = members[0]
    assert member.id != 0 and member.client_urls, (member.id, member.client_urls)
    status = c.status()
    assert status.version, status.version
    assert status.leader is not None and status.leader.id == member.id
    assert status.db_size > 0 and status.raft_term >= 1
    assert c.get(p + "nothing")[1] is None
    c.put(p + "m", "1")
    assert c.get(p + "m")[1].response_header.member_id == member.id
    assert list(c.list_alarms()) == []
    c.defragment()


def check_compaction_and_errors(c, p):
    revs = [c.put(p + "c", "v%d" % i).header.revision for i in range(3)]
    c.compact(revs[1], physical=True)
    expect_rpc_error(grpc.StatusCode.OUT_OF_RANGE, COMPACTED, range_raw, c, p + "c",
                     revision=revs[0])
    assert [kv.value for kv in range_raw(c, p + "c", revision=revs[1]).kvs] == [b"v1"]
    expect_rpc_error(grpc.StatusCode.OUT_OF_RANGE, COMPACTED, c.compact, revs[0])
    expect_rpc_error(grpc.StatusCode.OUT_OF_RANGE, FUTURE, range_raw, c, p + "c",
                     revision=revision(c) + 1000)
    expect_rpc_error(grpc.StatusCode.OUT_OF_RANGE, FUTURE, c.compact, revision(c) + 1000)
    expect_rpc_error(grpc.StatusCode.INVALID_ARGUMENT, KEY_NOT_PROVIDED, c.put, "", "v")


def check_typed_exceptions(c, p):
    # A one-member cluster refuses to lose its only member with etcd's "not enough started
    # members", as Unknown: etcd's error map turns this error into a client-side error
    # value rather than a status, and grpc-go sends that as Unknown.
    member = list(c.members)[0]
    try:
        c.remove_member(member.id)
    except grpc.RpcError as e:
        assert e.code() == grpc.StatusCode.UNKNOWN, e.code()
        assert e.details() == NOT_ENOUGH_STARTED, e.details()
    else:
        raise AssertionError("removing the only member was not refused")
    assert len(list(c.members)) == 1

    # FailedPrecondition is the library's PreconditionFailedError: MoveLeader to a member
    # that does not exist (etcd's "bad leader transferee"). python-etcd3 has no method for
    # MoveLeader; its own stub, through its own error translation.
    translate = sys.modules["etcd3.client"]._handle_errors  # etcd3.client is also a function
    move = translate(lambda: c.maintenancestub.MoveLeader(
        etcd3.etcdrpc.MoveLeaderRequest(targetID=member.id + 1), c.timeout))
    try:
        move()
    except exceptions.PreconditionFailedError:
        pass
    else:
        raise AssertionError("MoveLeader to a stranger was not refused")

    # The library's typed error for a server that is not there.
    dead = etcd3.client(host="127.0.0.1", port=1, timeout=5)
    try:
        dead.get("x")
    except exceptions.ConnectionFailedError:
        pass
    else:
        raise AssertionError("no ConnectionFailedError from a closed port")
    finally:
        dead.close()


# -- watches and locks (the gRPC Watch service) ---------------------------------------------

def check_watch(c, p):
    start = revision(c)
    events_iterator, cancel = c.watch(p + "w", start_revision=start + 1)
    c.put(p + "w", "1")
    c.put(p + "w", "2")
    c.delete(p + "w")
    seen = []
    for event in events_iterator:
        seen.append((type(event).__name__, event.value))
        if len(seen) == 3:
            break
    cancel()
    assert seen == [("PutEvent", b"1"), ("PutEvent", b"2"), ("DeleteEvent", b"")], seen

    events_iterator, cancel = c.watch_prefix(p + "wp/", start_revision=revision(c) + 1)
    c.put(p + "wp/a", "x")
    c.put(p + "other", "y")
    c.put(p + "wp/b", "z")
    got = []
    for event in events_iterator:
        got.append(event.key)
        if len(got) == 2:
            break
    cancel()
    assert got == [(p + "wp/a").encode(), (p + "wp/b").encode()], got

    # watch_once: the next event, or WatchTimedOut. From the revision the put will have, so
    # a put that lands before the watch is created (a slow machine) is still its event.
    start = revision(c) + 1
    timer = threading.Timer(0.3, lambda: c.put(p + "once", "now"))
    timer.start()
    event = c.watch_once(p + "once", timeout=10, start_revision=start)
    timer.join()
    assert event.value == b"now"
    try:
        c.watch_once(p + "silent", timeout=0.5)
    except exceptions.WatchTimedOut:
        pass
    else:
        raise AssertionError("watch_once on a silent key did not time out")

    # Callbacks, then cancel_watch: no more calls after it.
    calls = []
    done = threading.Event()

    def callback(response):
        calls.append(response)
        done.set()

    watch_id = c.add_watch_callback(p + "cb", callback)
    c.put(p + "cb", "1")
    assert done.wait(10), "the watch callback was not called"
    c.cancel_watch(watch_id)
    count = len(calls)
    # A later write watched on the same stream: once its event is in, the canceled watch
    # has had its chance (one stream delivers in revision order), no sleep needed.
    synced = threading.Event()
    sync_id = c.add_watch_callback(p + "cb-sync", lambda response: synced.set())
    c.put(p + "cb", "2")
    c.put(p + "cb-sync", "x")
    assert synced.wait(10), "the later write's watch callback was not called"
    c.cancel_watch(sync_id)
    assert len(calls) == count, "a canceled watch was called again"

    # A watch from a compacted revision fails with the library's RevisionCompactedError.
    revs = [c.put(p + "wc", str(i)).header.revision for i in range(3)]
    c.compact(revs[2])
    events_iterator, cancel = c.watch(p + "wc", start_revision=revs[0])
    try:
        for _ in events_iterator:
            raise AssertionError("an event from a compacted revision")
    except exceptions.RevisionCompactedError as e:
        assert e.compacted_revision == revs[2], e.compacted_revision
    else:
        raise AssertionError("no RevisionCompactedError")
    finally:
        cancel()


def try_acquire(client, lock, timeout):
    """Lock.acquire(timeout) of python-etcd3 0.12 cannot wait with Debian's tenacity 8 (its
    wait callback has tenacity's old signature and raises TypeError): non-waiting attempts
    (acquire(timeout=0) never reaches the wait), each followed by a watch_once on the lock
    key, as acquire itself waits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if lock.acquire(timeout=0):
            return True
        try:
            client.watch_once(lock.key, timeout=max(0.1, min(1.0, deadline - time.monotonic())))
        except exceptions.WatchTimedOut:
            pass
    return False


def check_locks(c, p, endpoint):
    host, port = endpoint.rsplit(":", 1)
    name = p.strip("/").replace("/", "-") + "-lock"
    first = c.lock(name, ttl=30)
    assert first.acquire(timeout=5) is True
    assert first.is_acquired()

    # Contention: a second client (its own channel) waits until the first releases.
    other = etcd3.client(host=host, port=int(port), timeout=20)
    acquired = threading.Event()

    def contend():
        lock = other.lock(name, ttl=30)
        if try_acquire(other, lock, 20):
            acquired.set()
            lock.release()

    thread = threading.Thread(target=contend)
    thread.start()
    assert not acquired.wait(0.5), "the lock was taken twice"
    assert first.release() is True
    thread.join(25)
    assert acquired.is_set(), "the waiter never got the released lock"

    # A lock whose holder stops refreshing is freed when its lease expires.
    short = c.lock(name, ttl=1)
    assert short.acquire(timeout=5) is True
    late = other.lock(name, ttl=30)
    assert try_acquire(other, late, 15), "the expired lock was not freed"
    assert not short.is_acquired()
    late.release()
    other.close()


CHECKS = [
    ("kv", check_kv),
    ("prefix_and_range", check_prefix_and_range),
    ("delete", check_delete),
    ("txn", check_txn),
    ("leases", check_leases),
    ("lease_expiry", check_lease_expiry),
    ("status_and_members", check_status_and_members),
    ("compaction_and_errors", check_compaction_and_errors),
    ("watch", check_watch),
    ("locks", None),  # needs the endpoint: below
    ("typed_exceptions", check_typed_exceptions),
]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("endpoint")
    parser.add_argument("--only", default="", help="comma-separated checks to run")
    parser.add_argument("--skip", default="", help="comma-separated NAME=WHY: checks to skip")
    args = parser.parse_args()
    only = set(item for item in args.only.split(",") if item)
    skip = dict(item.split("=", 1) if "=" in item else (item, "asked to")
                for item in args.skip.split(",") if item)
    host, port = args.endpoint.rsplit(":", 1)
    client = etcd3.client(host=host, port=int(port), timeout=20)
    wait_ready(client)
    run = "/pyetcd3-%s/" % uuid.uuid4().hex[:8]
    failed = 0
    for name, fn in CHECKS:
        if only and name not in only:
            continue
        if name in skip:
            print("SKIP %s: %s" % (name, skip[name]), flush=True)
            continue
        prefix = run + name + "/"
        try:
            if name == "locks":
                check_locks(client, prefix, args.endpoint)
            else:
                fn(client, prefix)
            print("PASS " + name, flush=True)
        except Exception as e:  # noqa: BLE001 - every failure is reported, then the next check
            failed += 1
            print("FAIL %s: %s: %s" % (name, type(e).__name__, e), flush=True)
            traceback.print_exc(file=sys.stdout)
    client.close()
    return 1 if failed else 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # python3-etcd3 runs each watcher's stream on a daemon thread. Closing the client ends those
    # streams, and a thread that reports that while the interpreter finalizes can abort it
    # ("could not acquire lock for <stderr> at interpreter shutdown", exit 134) after every
    # check passed. os._exit ends the process without that finalization.
    os._exit(code)
