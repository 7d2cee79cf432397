import type { Chain } from "../chain.js";

/** One screen of the explorer: built once, refreshed on each new block while `live`. */
export interface View {
  element: HTMLElement;
  /** Whether a new block can change what it shows. */
  live(): boolean;
  refresh(): Promise<void>;
}

export type ViewFactory = (chain: Chain, argument: string | undefined) => View;
