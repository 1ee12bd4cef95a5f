// The clock and playback state: where the race is (a fractional step), whether it plays, how fast.
// It knows nothing about drawing: each tick hands the whole step to `onFrame`. Timing functions can be
// replaced (tests/test_player_modules.py drives it with a fake requestAnimationFrame in node).

export const DL_SPEEDS = [0.25, 0.5, 1, 2, 4];
const DL_RACE_SECONDS = 12; // a 1000-step race lasts about this long at 1x
const DL_MIN_STEPS_PER_SECOND = 5; // short races still move at a visible pace
const DL_MAX_TICK_MS = 250; // a tab coming back from hiding does not jump ahead

// The nearest offered speed to `speed`.
export function dlNearestSpeed(speed) {
  const wanted = Number(speed) || 1;
  return DL_SPEEDS.reduce((a, b) => (Math.abs(b - wanted) < Math.abs(a - wanted) ? b : a), 1);
}

// The next offered speed up (dir > 0) or down (dir < 0), staying at the ends.
export function dlNextSpeed(speed, dir) {
  const i = DL_SPEEDS.indexOf(dlNearestSpeed(speed));
  const j = Math.max(0, Math.min(DL_SPEEDS.length - 1, i + (dir > 0 ? 1 : -1)));
  return DL_SPEEDS[j];
}

export class DlClock {
  constructor(steps, speed, timing = {}) {
    this.steps = Math.max(1, Math.floor(Number(steps) || 1));
    this.rate = Math.max(this.steps / DL_RACE_SECONDS, DL_MIN_STEPS_PER_SECOND); // steps per second at 1x
    this.speed = dlNearestSpeed(speed);
    this.pos = 0;
    this.playing = false;
    this.handle = 0;
    this.now = timing.now || (() => performance.now());
    this.request = timing.request || ((fn) => requestAnimationFrame(fn));
    this.cancel = timing.cancel || ((h) => cancelAnimationFrame(h));
  }

  get step() {
    return Math.floor(this.pos);
  }

  // Starts the clock (from 0 when at the end). Each tick calls onFrame(step, now, gapMs); at the last step
  // the clock stops by itself and calls onEnd. Returns false when it was already playing.
  play(onFrame, onEnd) {
    if (this.playing) return false;
    if (this.pos >= this.steps) this.pos = 0;
    this.playing = true;
    let last = this.now();
    const tick = (now) => {
      if (!this.playing) return;
      const gap = now - last;
      last = now;
      this.pos = Math.min(this.steps, this.pos + (Math.min(gap, DL_MAX_TICK_MS) / 1000) * this.rate * this.speed);
      onFrame(this.step, now, gap);
      if (!this.playing) return; // onFrame may have stopped it
      if (this.pos >= this.steps) {
        this.playing = false;
        onEnd();
        return;
      }
      this.handle = this.request(tick);
    };
    this.handle = this.request(tick);
    return true;
  }

  stop() {
    this.playing = false;
    this.cancel(this.handle);
  }

  // Stops and moves to step k (clamped to 0..steps); returns the step.
  seek(k) {
    this.stop();
    this.pos = Math.max(0, Math.min(this.steps, Math.floor(Number(k) || 0)));
    return this.step;
  }

  setSpeed(speed) {
    this.speed = dlNearestSpeed(speed);
    return this.speed;
  }
}
