/**
 * Preloaded into a service (`node --require …/cpu-profile.preload.js main.js`) by
 * `npm run bench -- profile`: the first SIGWINCH starts V8's sampling CPU
 * profiler, the second stops it and writes the profile (`.cpuprofile`, the
 * format of `node --cpu-prof`) to BENCH_CPU_PROFILE, then prints
 * `cpu profile written`. `node --cpu-prof` itself cannot serve here: it writes
 * only at a normal exit, and a Nest app ends on SIGTERM by re-raising the
 * signal (and shuts down on SIGUSR2 too, hence SIGWINCH, which nothing else here uses). Plain CommonJS, so that no TypeScript hook runs inside the service.
 * BENCH_CPU_PROFILE_INTERVAL_US: the sampling interval, in microseconds (100).
 */
'use strict';
const { Session } = require('node:inspector');
const { writeFileSync } = require('node:fs');

const target = process.env.BENCH_CPU_PROFILE;
if (target) {
  const session = new Session();
  session.connect();
  let running = false;
  process.on('SIGWINCH', () => {
    if (!running) {
      running = true;
      const interval = Number(process.env.BENCH_CPU_PROFILE_INTERVAL_US || 100);
      session.post('Profiler.enable', () =>
        session.post('Profiler.setSamplingInterval', { interval }, () =>
          session.post('Profiler.start', () => process.stdout.write('cpu profile started\n')),
        ),
      );
      return;
    }
    running = false;
    session.post('Profiler.stop', (error, result) => {
      if (error) {
        process.stdout.write(`cpu profile failed: ${error.message}\n`);
        return;
      }
      writeFileSync(target, JSON.stringify(result.profile));
      process.stdout.write('cpu profile written\n');
    });
  });
}
