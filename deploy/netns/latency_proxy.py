#!/usr/bin/env python3
"""A TCP proxy that adds latency: `tc netem` does not exist in this kernel.

Listens on LISTEN (HOST:PORT) and forwards every connection to TARGET. Each chunk read
from either side is written to the other `delay` milliseconds after it arrived, in
order, so a connection keeps its byte stream and only slows down. The delay starts at 0;
SIGUSR1 sets it to --delay-ms, SIGUSR2 back to 0 (the fault bench toggles it). Runs until
it is killed.
"""
import argparse
import asyncio
import signal
import time


class Proxy:
    def __init__(self, target_host, target_port, delay_ms):
        self.target = (target_host, target_port)
        self.configured = delay_ms / 1000
        self.delay = 0.0

    async def pipe(self, reader, writer):
        """Copies reader to writer, each chunk held until its arrival time plus the delay."""
        queue = asyncio.Queue()

        async def read():
            try:
                while chunk := await reader.read(65536):
                    await queue.put((time.monotonic() + self.delay, chunk))
            except OSError:
                pass
            await queue.put(None)

        async def write():
            try:
                while (item := await queue.get()) is not None:
                    due, chunk = item
                    wait = due - time.monotonic()
                    if wait > 0:
                        await asyncio.sleep(wait)
                    writer.write(chunk)
                    await writer.drain()
            except OSError:
                pass
            finally:
                writer.close()

        await asyncio.gather(read(), write())

    async def serve(self, client_reader, client_writer):
        try:
            server_reader, server_writer = await asyncio.open_connection(*self.target)
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(self.pipe(client_reader, server_writer), self.pipe(server_reader, client_writer))


async def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("listen")
    parser.add_argument("target")
    parser.add_argument("--delay-ms", type=int, default=150)
    args = parser.parse_args()
    listen_host, listen_port = args.listen.rsplit(":", 1)
    target_host, target_port = args.target.rsplit(":", 1)
    proxy = Proxy(target_host, int(target_port), args.delay_ms)
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGUSR1, lambda: setattr(proxy, "delay", proxy.configured))
    loop.add_signal_handler(signal.SIGUSR2, lambda: setattr(proxy, "delay", 0.0))
    server = await asyncio.start_server(proxy.serve, listen_host, int(listen_port))
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
