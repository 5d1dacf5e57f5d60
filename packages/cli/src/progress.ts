const FRAMES = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
const CLEAR_LINE = "\r\x1b[2K";

/**
 * A one-line spinner on stderr while nothing happens. It redraws in place, so it
 * is off unless stderr is a terminal (a log file would fill with frames).
 */
export function progressLine(write: (text: string) => void, enabled: boolean) {
  let frame = 0;
  let shown = false;
  return {
    /** Draws the next frame with this text. */
    update(text: string) {
      if (!enabled) return;
      write(`${CLEAR_LINE}${FRAMES[frame++ % FRAMES.length]} ${text}`);
      shown = true;
    },
    /** Removes the line, before anything else is printed. */
    clear() {
      if (!shown) return;
      write(CLEAR_LINE);
      shown = false;
    },
  };
}

export type ProgressLine = ReturnType<typeof progressLine>;
