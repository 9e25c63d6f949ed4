# Scaling rehearsal (docs/local-aws.md "Scaling"): auto scaling against an independent
# prediction of AWS's policy, time-scaled (REDLINE_SCALING_MINUTE_S).
BENCHES += bench_scaling
BENCHES += bench_reshard
