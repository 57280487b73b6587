#!/usr/bin/python3
"""python3-etcd3gw, the Python client of etcd's JSON gateway, against a running revkvd.

Usage: etcd3gw_client.py PORT [--watch]
Runs KV (get/put/delete/prefix/create/replace), transactions, leases (grant/refresh/ttl/
keys/revoke), locks and, with --watch, watches through revkvd's gateway on PORT (the
--listen-grpc port). Exits 0 and prints "etcd3gw: ok" when every check holds; an
assertion's traceback otherwise. Run by tests/etcdapi/gateway_clients_test.cpp.
"""

import sys
import threading

import etcd3gw
from etcd3gw.client import Etcd3Client
from etcd3gw import exceptions


def check_kv(c):
    assert c.put('foo', 'bar') is True
    assert c.get('foo') == [b'bar']
    value, meta = c.get('foo', metadata=True)[0]
    assert value == b'bar'
    assert meta['key'] == b'foo' and meta['version'] == '1', meta
    assert c.get('missing') == []
    for i in range(3):
        c.put('dir/%d' % i, 'v%d' % i)
    # get_prefix answers (value, metadata) pairs.
    assert [v for v, _ in c.get_prefix('dir/')] == [b'v0', b'v1', b'v2'], c.get_prefix('dir/')
    assert [v for v, _ in c.get_prefix('dir/', sort_order='descend', sort_target='key')] == \
        [b'v2', b'v1', b'v0']
    assert c.delete('dir/1') is True
    assert c.delete('dir/1') is False
    assert c.delete_prefix('dir/') is True
    assert c.get_prefix('dir/') == []
    # create: only if absent; replace: only if the value is the expected one.
    assert c.create('once', 'first') is True
    assert c.create('once', 'second') is False
    assert c.replace('once', 'first', 'third') is True
    assert c.replace('once', 'first', 'fourth') is False
    assert c.get('once') == [b'third']


def check_txn(c):
    txn = {
        'compare': [{'key': etcd3gw.utils._encode('foo'), 'result': 'EQUAL',
                     'target': 'VALUE', 'value': etcd3gw.utils._encode('bar')}],
        'success': [{'request_put': {'key': etcd3gw.utils._encode('foo'),
                                     'value': etcd3gw.utils._encode('baz')}}],
        'failure': [{'request_range': {'key': etcd3gw.utils._encode('foo')}}],
    }
    result = c.transaction(txn)
    assert result.get('succeeded') is True, result
    result = c.transaction(txn)
    assert 'succeeded' not in result, result
    kv = result['responses'][0]['response_range']['kvs'][0]
    assert etcd3gw.utils._decode(kv['value']) == b'baz'


def check_leases(c):
    lease = c.lease(ttl=60)
    assert lease.id > 0
    c.put('leased', 'x', lease=lease)
    assert 0 < lease.ttl() <= 60
    assert lease.refresh() == 60
    assert lease.keys() == [b'leased']
    assert lease.revoke() is True
    assert c.get('leased') == []
    assert lease.ttl() == -1
    assert lease.refresh() == -1
    try:
        lease.revoke()
        raise AssertionError('revoking a revoked lease succeeded')
    except exceptions.Etcd3Exception as e:
        assert 'requested lease not found' in str(e.detail_text), e.detail_text


def check_locks(c):
    first = c.lock('resource', ttl=60)
    second = c.lock('resource', ttl=60)
    assert first.acquire() is True
    assert first.is_acquired()
    assert second.acquire() is False
    assert first.refresh() == 60
    assert first.release() is True
    assert second.acquire() is True
    assert second.release() is True
    with c.lock('guarded', ttl=60) as held:
        assert held.is_acquired()


def check_status(c):
    status = c.status()
    assert status['leader'] == status['header']['member_id'], status
    members = c.members()
    assert len(members) == 1 and members[0]['ID'] == status['leader'], members


def check_watch(c):
    events, cancel = c.watch('watched')
    got = []
    done = threading.Event()

    def consume():
        for event in events:
            got.append(event)
            if len(got) == 2:
                done.set()
                return

    reader = threading.Thread(target=consume, daemon=True)
    reader.start()
    # The watch is created asynchronously: write until the first event shows.
    for i in range(100):
        c.put('watched', 'v%d' % i)
        if done.wait(0.2):
            break
    assert done.is_set(), got
    cancel()
    assert got[0]['kv']['key'] == b'watched'
    assert got[0]['kv']['value'].startswith(b'v')
    c.delete('other')

    # A prefix watch from a past revision sees the history, deletes included.
    rev = int(c.status()['header']['revision'])
    c.put('wp/a', '1')
    c.delete('wp/a')
    event = c.watch_prefix_once('wp/', timeout=10, start_revision=rev + 1)
    assert event['kv']['key'] == b'wp/a' and event['kv']['value'] == b'1', event
    deleted = c.watch_prefix_once('wp/', timeout=10, start_revision=rev + 2)
    assert deleted.get('type') == 'DELETE', deleted


def main():
    port = int(sys.argv[1])
    for api_path in ('/v3/', '/v3beta/'):
        c = Etcd3Client(host='127.0.0.1', port=port, api_path=api_path, timeout=30)
        c.delete('\0', range_end=etcd3gw.utils._encode('\0'))
        check_kv(c)
        check_txn(c)
        check_leases(c)
        check_locks(c)
        check_status(c)
        if '--watch' in sys.argv[2:]:
            check_watch(c)
    print('etcd3gw: ok')


if __name__ == '__main__':
    main()
