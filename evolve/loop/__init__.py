"""The evolution loop: one run from config to report.

``run`` orchestrates a run (checks, archive, Ray, seeding, the loop, the final stage, the
report); ``resume`` reopens an archive and decides how a killed, failed or finished run
continues; ``controller`` is the asynchronous loop itself (propose, screen, evaluate,
promote, until a budget cap); ``final_stage`` is what follows it (robust selection across
worlds, the summary and its references; the test evaluations are the controller's); ``pace`` measures this
machine's throughput on the seeding stage; ``twins``, ``inert``, ``scoring`` and ``yields`` are the
controller's helpers (behavioural twins, provably inert edits, fitness and descriptors of an evaluation, the
yield of each parent's children); ``errors`` holds the run's one-line errors. Import from
the modules themselves.
"""
