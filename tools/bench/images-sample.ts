// What the labeling benchmarks record of one measurement over a set of images.
import { loadavg } from 'node:os';

/** Wall rate, CPU time per image (every thread of this process) and the 1-minute load average after it. */
export interface Sample {
  rate: number;
  cpuMsPerImage: number;
  load: number;
}

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Rate, CPU per image and load of `work`, which handles `images` images. */
export async function measureImages(images: number, work: () => Promise<void>): Promise<Sample> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await work();
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return { rate: images / seconds, cpuMsPerImage: (cpu.user + cpu.system) / 1000 / images, load: loadavg()[0] };
}
