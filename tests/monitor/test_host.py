"""Host telemetry on this machine, with psutil for real: fields, CPU load and rates between samples."""

from __future__ import annotations

import json
import os
import socket
import threading
import time

import psutil

from tuiflow.monitor.host import MIB, HostSampler


def test_a_sample_has_every_field_with_sane_values():
    sampler = HostSampler()
    time.sleep(0.2)
    sample = sampler.sample()
    assert len(sample.per_core) == psutil.cpu_count()
    assert all(0 <= p <= 100 for p in sample.per_core)
    assert sample.cpu_percent == round(sum(sample.per_core) / len(sample.per_core), 1)
    total = psutil.virtual_memory().total / MIB
    assert abs(sample.memory_total_mb - total) < 1
    assert abs(sample.memory_used_mb + sample.memory_available_mb - sample.memory_total_mb) < 1
    assert 0 < sample.memory_available_mb <= sample.memory_total_mb
    assert 0 <= sample.swap_used_mb <= max(sample.swap_total_mb, 0.0)
    assert sample.load_1 is not None and sample.load_1 >= 0
    for rate in (sample.net_recv_bps, sample.net_sent_bps):
        assert rate is not None and rate >= 0
    if psutil.disk_io_counters() is not None:
        assert sample.disk_read_bps >= 0 and sample.disk_write_bps >= 0
    assert abs(sample.time - time.time()) < 5


def test_the_records_are_json_and_split_host_from_cores():
    sampler = HostSampler()
    time.sleep(0.1)
    sample = sampler.sample(now=123.0)
    assert sample.time == 123.0
    host = json.loads(json.dumps(sample.host_values()))
    assert "per_core" not in host and "time" not in host and "memory_used_mb" in host
    assert sample.cpu_values() == {"cores": sample.per_core, "total": sample.cpu_percent}


def test_samples_too_close_together_give_no_rates_rather_than_noise():
    sampler = HostSampler()
    sample = sampler.sample()  # microseconds after the previous counters
    assert sample.per_core is None and sample.cpu_percent is None
    assert sample.net_recv_bps is None and sample.disk_write_bps is None
    assert sample.memory_total_mb > 0  # levels are still there


def test_a_busy_core_shows():
    sampler = HostSampler()
    deadline = time.monotonic() + 0.4
    while time.monotonic() < deadline:
        pass
    sample = sampler.sample()
    assert max(sample.per_core) > 40


def test_network_rates_count_bytes_per_second_since_the_last_sample():
    payload = 8 * MIB
    server = socket.create_server(("127.0.0.1", 0))
    received = []

    def receive():
        conn, _ = server.accept()
        with conn:
            total = 0
            while chunk := conn.recv(1 << 20):
                total += len(chunk)
            received.append(total)

    thread = threading.Thread(target=receive)
    thread.start()
    sampler = HostSampler()
    started = time.monotonic()
    with socket.create_connection(server.getsockname()) as client:
        client.sendall(b"x" * payload)
    thread.join(10)
    server.close()
    time.sleep(0.1)
    sample = sampler.sample()
    elapsed = time.monotonic() - started
    assert received == [payload]
    # Loopback traffic counts both ways; other traffic on the machine only adds.
    assert sample.net_recv_bps * elapsed >= payload * 0.9
    assert sample.net_sent_bps * elapsed >= payload * 0.9

    # The next sample covers only the time since this one: the burst is gone from it.
    time.sleep(0.3)
    quiet = sampler.sample()
    assert quiet.net_recv_bps < sample.net_recv_bps


def test_disk_rates_are_measured_between_samples(tmp_path):
    if psutil.disk_io_counters() is None:
        return  # no block device statistics in this container: rates are None, checked elsewhere
    sampler = HostSampler()
    with open(tmp_path / "blob", "wb") as handle:
        handle.write(os.urandom(4 * MIB))
        handle.flush()
        os.fsync(handle.fileno())
    time.sleep(0.1)
    sample = sampler.sample()
    assert sample.disk_write_bps is not None and sample.disk_write_bps >= 0
