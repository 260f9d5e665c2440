// Alarm tones made with WebAudio: no sound files to ship, and browsers allow them once
// the user has interacted with the page (the login click does).

let ctx: AudioContext | null = null;

/// `count` short beeps at `hz`.
export function beep(hz = 880, count = 2): void {
  try {
    ctx ??= new AudioContext();
    const t0 = ctx.currentTime;
    for (let i = 0; i < count; i++) {
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.frequency.value = hz;
      gain.gain.setValueAtTime(0.25, t0 + i * 0.3);
      gain.gain.exponentialRampToValueAtTime(0.001, t0 + i * 0.3 + 0.2);
      osc.connect(gain).connect(ctx.destination);
      osc.start(t0 + i * 0.3);
      osc.stop(t0 + i * 0.3 + 0.22);
    }
  } catch {
    // No audio device (a headless browser): the visual cue is enough.
  }
}
