/**
 * A Kanban board as the bridge uses it: cards in columns, found by the reference of the ticket they
 * show. An adapter per board (Kanboard today; Trello or Wekan would be one more folder under
 * lib/systems/) implements it; the sync logic (lib/sync/rt-kanban/) sees only this.
 */

/** What the bridge wants a card to show. */
export interface CardContent {
  title: string;
  description: string;
  /** The column title. */
  column: string;
  /** The board user the card is assigned to; undefined: nobody. */
  ownerId: string | undefined;
  /** The board's priority scale (Kanboard: 0–3). */
  priority: number;
}

/** A card as it is on the board. */
export interface Card extends CardContent {
  id: string;
  reference: string;
  /** False for a closed (archived) card. */
  open: boolean;
  url?: string | undefined;
}

export interface BoardPort {
  /** `kanboard:<instance>`, for logs and errors. */
  readonly name: string;
  /** The card carrying this reference, open or closed; undefined when there is none. */
  findByReference(reference: string, signal?: AbortSignal): Promise<Card | undefined>;
  /** One card by id; undefined when it is gone (deleted on the board). */
  getCard(id: string, signal?: AbortSignal): Promise<Card | undefined>;
  /** Every card of the board, open ones and, with `closed`, closed ones. */
  listCards(options: { closed: boolean }, signal?: AbortSignal): Promise<Card[]>;
  createCard(reference: string, content: CardContent, signal?: AbortSignal): Promise<Card>;
  /**
   * Makes a card show `content`, opening it if it was closed, writing only what differs from `current`
   * (as last seen); returns what changed. NotFound when the card is gone.
   */
  updateCard(current: Card, content: CardContent, signal?: AbortSignal): Promise<string[]>;
  /** Deletes a card, or closes (archives) it; a card already gone is no error. */
  removeCard(id: string, mode: "delete" | "close", signal?: AbortSignal): Promise<void>;
  /** The column titles, left to right. */
  columns(signal?: AbortSignal): Promise<string[]>;
  /** The board user id for a user name, if the board has such a user. */
  findUser(username: string, signal?: AbortSignal): Promise<string | undefined>;
}
