"""Traffic watched while something happens to the cluster: echoes between lab VMs, each with
its time, so that every loss falls into the window of what caused it."""

from __future__ import annotations

import re
import signal
import subprocess
import tempfile

from tests.lab import vms

ECHO_INTERVAL_S = 0.1


class Pinger:
    """`ping -D -O` at 10/s from a VM: every echo is either answered or reported outstanding
    (`no answer yet`), with the time, so each loss falls into a phase. Its output goes to a file:
    a pipe nobody reads for minutes would fill and stall it."""

    def __init__(self, vm: str, address: str) -> None:
        self.log = tempfile.TemporaryFile("w+")
        self.process = subprocess.Popen(
            ["ip", "netns", "exec", vms.vm_netns(vm), "ping", "-D", "-O", "-i", str(ECHO_INTERVAL_S), address],
            stdout=self.log, stderr=subprocess.STDOUT, text=True,
        )
        self.output = ""

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)  # ping ends with its summary on SIGINT
        self.process.wait(timeout=30)
        self.log.seek(0)
        self.output = self.log.read()
        self.log.close()

    def echoes(self) -> dict[int, tuple[float, bool]]:
        """icmp_seq -> (when, answered); an echo answered late counts as answered."""
        echoes: dict[int, tuple[float, bool]] = {}
        for when, seq, kind in re.findall(r"^\[(\d+\.\d+)\] (?:(?:\d+ bytes from .*?)?)icmp_seq=(\d+)(.*)$",
                                          self.output, re.M):
            answered = "no answer yet" not in kind
            if answered or int(seq) not in echoes:
                echoes[int(seq)] = (float(when), answered)
        return echoes

    def lost_between(self, start: float, end: float) -> tuple[int, int]:
        """(echoes sent in [start, end], of which unanswered); call after stop()."""
        window = [answered for when, answered in self.echoes().values() if start <= when <= end]
        return len(window), window.count(False)

