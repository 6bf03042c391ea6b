from django.apps import AppConfig


class BenchConfig(AppConfig):
    name = "openprm.bench"
    label = "bench"
    verbose_name = "Benchmarks"
