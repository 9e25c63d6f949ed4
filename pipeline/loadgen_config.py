"""The environment file's `loadgen` section: Locust master and workers as Fargate tasks.

Off by default. Task sizes must be a pair Fargate accepts (AWS: "Task CPU and memory",
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-tasks-services.html#fargate-tasks-size).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

# Task CPU units -> the memory (MiB) Fargate accepts with it.
FARGATE_TASK_SIZES: dict[int, tuple[int, int, int]] = {
    # cpu: (lowest MiB, highest MiB, step MiB)
    256: (512, 2048, 512),
    512: (1024, 4096, 1024),
    1024: (2048, 8192, 1024),
    2048: (4096, 16384, 1024),
    4096: (8192, 30720, 1024),
}
MAX_WORKERS = 200  # a bound on what one run may start, not an AWS quota


def fargate_size_problem(field: str, cpu: int, memory_mb: int) -> str | None:
    if cpu not in FARGATE_TASK_SIZES:
        allowed = ", ".join(str(c) for c in FARGATE_TASK_SIZES)
        return f"loadgen.{field}_cpu must be one of {allowed} (CPU units), got {cpu}"
    low, high, step = FARGATE_TASK_SIZES[cpu]
    if not (low <= memory_mb <= high and (memory_mb - low) % step == 0):
        return (
            f"loadgen.{field}_memory_mb must be {low}..{high} in steps of {step} with"
            f" {field}_cpu {cpu}, got {memory_mb}"
        )
    return None


class LoadgenConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = False
    workers: Annotated[int, Field(ge=1, le=MAX_WORKERS)] = 2
    cpu_architecture: Literal["X86_64", "ARM64"] = "ARM64"
    master_cpu: int = 1024
    master_memory_mb: int = 2048
    worker_cpu: int = 1024
    worker_memory_mb: int = 2048
    use_spot: bool = False
    budget_usd: Annotated[float, Field(ge=0)] = 5.0
    image: str = ""
    vpc_id: str = ""
    subnet_ids: list[str] = []
    assign_public_ip: bool = False
    results_bucket: str = ""
    results_prefix: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.\-/]*$")] = "loadtests/"
    log_retention_days: Annotated[int, Field(ge=1)] = 30

    @model_validator(mode="after")
    def _sizes_and_what_enabled_needs(self) -> LoadgenConfig:
        problems = [
            p
            for p in (
                fargate_size_problem("master", self.master_cpu, self.master_memory_mb),
                fargate_size_problem("worker", self.worker_cpu, self.worker_memory_mb),
            )
            if p
        ]
        if self.enabled:
            missing = [
                f"loadgen.{name}"
                for name in ("image", "vpc_id", "subnet_ids", "results_bucket")
                if not getattr(self, name)
            ]
            if missing:
                problems.append("loadgen.enabled needs " + ", ".join(missing))
        if problems:
            raise ValueError("; ".join(problems))
        return self
