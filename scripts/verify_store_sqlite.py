#!/usr/bin/env python3
"""Re-verifies the hash chains of a dronewatch SQLite store from the definition in
docs/store.md, without any dronewatch code: a third party's check of the evidence.

    python3 scripts/verify_store_sqlite.py PATH/TO/dronewatch.db

Prints one line per chain and exits 0 when every chain verifies, 1 otherwise.
"""
import hashlib
import sqlite3
import struct
import sys

TAG = b"dronewatch-event-v1"
CHAINS = ("observations", "tracks", "records")
COLUMNS = ("seq, kind, t_ns, stored_at_ns, source, serial, track_id, lat_deg, lon_deg, h_m, "
           "idempotency_key, body, hash")


def u64(v):
    return struct.pack(">Q", v)


def i64(v):
    return struct.pack(">q", v)


def byts(x):
    return u64(len(x)) + x


def opt(x, enc):
    return b"\x00" if x is None else b"\x01" + enc(x)


def event_hash(prev, chain, row):
    seq, kind, t_ns, stored_at_ns, source, serial, track_id, lat, lon, h, key, body = row
    m = prev + byts(TAG) + byts(chain) + u64(seq) + byts(kind) + i64(t_ns) + i64(stored_at_ns)
    m += opt(source, byts) + opt(serial, byts)
    # track_id is a u64 stored as the i64 with the same bits: the same 8 bytes.
    m += opt(track_id, i64)
    position = None if lat is None and lon is None and h is None else (lat, lon, h)
    m += opt(position, lambda p: struct.pack(">ddd", *p))
    m += opt(key, byts) + byts(body)
    return hashlib.sha256(m).digest()


def verify_chain(con, chain):
    state = con.execute(
        "SELECT anchor_seq, anchor_hash, head_seq, head_hash FROM chain_state WHERE chain = ?",
        (chain,)).fetchone()
    if state is None:
        return 0, (0, "missing anchor (no chain_state row)")
    anchor_seq, prev, head_seq, head_hash = state
    expected, checked = anchor_seq + 1, 0
    for row in con.execute(f"SELECT {COLUMNS} FROM events_{chain} ORDER BY seq"):
        if row[0] != expected:
            return checked, (expected, f"gap in seq: found {row[0]}")
        try:
            computed = event_hash(prev, chain.encode(), row[:12])
        except (TypeError, struct.error) as e:
            return checked, (row[0], f"malformed row: {e}")
        if computed != row[12]:
            return checked, (row[0], "hash mismatch")
        prev, expected, checked = row[12], expected + 1, checked + 1
    if expected - 1 != head_seq or prev != head_hash:
        return checked, (expected - 1, f"the log ends at {expected - 1}, its head says {head_seq}")
    return checked, None


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    con = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
    con.text_factory = bytes  # hash the stored bytes, whatever they are
    ok = True
    for chain in CHAINS:
        checked, bad = verify_chain(con, chain)
        if bad is None:
            print(f"{chain}: ok, {checked} events")
        else:
            ok = False
            print(f"{chain}: BAD at seq {bad[0]}: {bad[1]} ({checked} events checked before)")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
