"""Deterministic realistic AMI traffic; see ``ami_fast._bench.gen_stream``.

``python benches/gen_stream.py N OUT`` writes N messages to the file OUT (for the Rust bench
or other tools that want the very bytes the Python benchmarks parse).
"""

from __future__ import annotations

import sys

from ami_fast._bench.gen_stream import CHUNK_SIZE, GeneratedStream, chunk, generate

__all__ = ["CHUNK_SIZE", "GeneratedStream", "chunk", "generate"]

if __name__ == "__main__":
    n, out = int(sys.argv[1]), sys.argv[2]
    stream = generate(n)
    with open(out, "wb") as f:
        f.write(stream.data)
    print(f"{stream.messages} messages, {len(stream.data)} bytes, {stream.mean_message_bytes:.0f} B/message")
