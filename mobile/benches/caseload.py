"""The cost of one FFI call for the caseload, from Python: `MobileSession.caseload` on a device
store of 1,000 patients, including the conversion of every row into Python objects. Prints the
median, fastest and slowest of 30 calls. Run by `cargo bench -p doorstep-tests --bench mobile_ffi`
after `bash scripts/bindings.sh --release`.

    PYTHONPATH=mobile/bindings/python python3 mobile/benches/caseload.py DATA_DIR PIN
"""

import statistics
import sys
import time

import doorstep_mobile as doorstep

CALLS = 30


def main(data_dir, pin):
    store = doorstep.DeviceStore(data_dir, None)
    session = store.unlock(store.users()[0].id, pin)
    times = []
    rows = []
    for _ in range(CALLS):
        started = time.perf_counter()
        rows = session.caseload("", True)
        times.append((time.perf_counter() - started) * 1000)
    query = rows[0].family[:4]
    started = time.perf_counter()
    found = session.caseload(query, True)
    search = (time.perf_counter() - started) * 1000
    print(
        f"caseload of {len(rows)} patients from Python, {CALLS} calls: median {statistics.median(times):.1f} ms, "
        f"fastest {min(times):.1f} ms, slowest {max(times):.1f} ms; a search by name ({len(found)} found) {search:.1f} ms"
    )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
