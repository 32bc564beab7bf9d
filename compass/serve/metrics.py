"""Request accounting and Prometheus text exposition (``GET /metrics``), without a client
library."""

from __future__ import annotations

import bisect
from collections import defaultdict

LATENCY_BUCKETS_S = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)


class Metrics:
    def __init__(self) -> None:
        self.requests: dict[tuple[str, int], int] = defaultdict(int)  # (endpoint, status)
        self.tokens: dict[tuple[str, str], int] = defaultdict(int)  # (key label, prompt|completion)
        self.key_requests: dict[str, int] = defaultdict(int)
        self.rejected: dict[str, int] = defaultdict(int)  # reason -> count
        self._lat_counts = [0] * (len(LATENCY_BUCKETS_S) + 1)
        self._lat_sum = 0.0
        self._lat_n = 0
        self.ttft_sum, self.ttft_n = 0.0, 0

    def record_request(self, endpoint: str, status: int, latency_s: float) -> None:
        self.requests[(endpoint, status)] += 1
        self._lat_counts[bisect.bisect_left(LATENCY_BUCKETS_S, latency_s)] += 1
        self._lat_sum += latency_s
        self._lat_n += 1

    def record_usage(self, who: str, prompt_tokens: int, completion_tokens: int) -> None:
        self.key_requests[who] += 1
        self.tokens[(who, "prompt")] += prompt_tokens
        self.tokens[(who, "completion")] += completion_tokens

    def record_ttft(self, seconds: float) -> None:
        self.ttft_sum += seconds
        self.ttft_n += 1

    def usage_of(self, who: str) -> dict[str, int]:
        return {
            "requests": self.key_requests.get(who, 0),
            "prompt_tokens": self.tokens.get((who, "prompt"), 0),
            "completion_tokens": self.tokens.get((who, "completion"), 0),
        }

    def render(self, gauges: dict[str, float]) -> str:
        lines = ["# TYPE compass_requests_total counter"]
        for (ep, st), n in sorted(self.requests.items()):
            lines.append(f'compass_requests_total{{endpoint="{ep}",status="{st}"}} {n}')
        lines.append("# TYPE compass_tokens_total counter")
        for (who, kind), n in sorted(self.tokens.items()):
            lines.append(f'compass_tokens_total{{key="{who}",kind="{kind}"}} {n}')
        lines.append("# TYPE compass_rejected_total counter")
        for reason, n in sorted(self.rejected.items()):
            lines.append(f'compass_rejected_total{{reason="{reason}"}} {n}')
        lines.append("# TYPE compass_request_latency_seconds histogram")
        cum = 0
        for le, c in zip((*LATENCY_BUCKETS_S, float("inf")), self._lat_counts):
            cum += c
            le_s = "+Inf" if le == float("inf") else f"{le:g}"
            lines.append(f'compass_request_latency_seconds_bucket{{le="{le_s}"}} {cum}')
        lines.append(f"compass_request_latency_seconds_sum {self._lat_sum:.6f}")
        lines.append(f"compass_request_latency_seconds_count {self._lat_n}")
        lines.append("# TYPE compass_time_to_first_token_seconds summary")
        lines.append(f"compass_time_to_first_token_seconds_sum {self.ttft_sum:.6f}")
        lines.append(f"compass_time_to_first_token_seconds_count {self.ttft_n}")
        for name, v in sorted(gauges.items()):
            kind = "counter" if name.endswith("_total") else "gauge"
            lines += [f"# TYPE compass_{name} {kind}", f"compass_{name} {v:g}"]
        return "\n".join(lines) + "\n"
