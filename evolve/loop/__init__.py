"""The evolution loop: one run from config to report.

``run`` orchestrates a run (checks, archive, Ray, seeding, the loop, the final stage, the
report); ``resume`` reopens an archive and decides how a killed, failed or finished run
continues; ``controller`` is the asynchronous loop itself (propose, screen, evaluate,
promote, until a budget cap); ``final_stage`` is what follows it (robust selection, the
test evaluations, the summary); ``pace`` measures this machine's throughput on the seeding
stage; ``twins``, ``inert``, ``scoring`` and ``yields`` are the controller's helpers
(duplicate-behaviour children, provably inert edits, fitness of an evaluation, the yield
of each operator); ``errors`` holds the run's one-line errors. Import from the modules
themselves.
"""
