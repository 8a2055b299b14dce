/**
 * The fewest calls to the external systems one event's sync can make, by route, and why. A ratio of
 * the measured calls to these is the load deskbridge puts on a customer's helpdesk beyond need.
 */
export const UPSTREAM_FLOORS: Record<string, { calls: number; why: string }> = {
  "POST /glpi/tickets": {
    calls: 1,
    why: "create the ticket (the session is kept per container, and the customer's entity is in the entity directory; the old Flask app made 4: initSession, entity search of up to 1,500 rows, create, killSession)",
  },
  "POST /otrs/ticket-events": {
    calls: 4,
    why: "read the ticket, search Redmine for an issue already carrying its number (a person may have opened one), create the issue, write its id back to OTRS",
  },
  "POST /redmine/issue-events": {
    calls: 3,
    why: "read the issue, find the OTRS ticket by number, update its state with the note",
  },
  "POST /api/v1/create-ticket": {
    calls: 4,
    why: "read the external ticket and its attachments, search the internal iTop by external ref, create the twin",
  },
  "POST /api/v1/update-ticket": {
    calls: 5,
    why: "a pair reconciliation reads both tickets and both attachment lists (4), then writes the change (1)",
  },
  "POST /api/v1/ticket-update-private-log": {
    calls: 5,
    why: "a pair reconciliation reads both tickets and both attachment lists (4), then writes the entry (1)",
  },
  "POST /api/v1/ticket-state-change": {
    calls: 5,
    why: "a pair reconciliation reads both tickets and both attachment lists (4), then applies the stimulus (1)",
  },
  "POST /api/v1/update-attachment": {
    calls: 5,
    why: "a pair reconciliation reads both tickets and both attachment lists (4), then creates the copy (1)",
  },
  "POST /rt/ticket-events": {
    calls: 4,
    why: "read the ticket, search the board by reference (no second card after a lost answer), create the card, write its id back to RT",
  },
  "POST /rocketchat/livechat": {
    calls: 2,
    why: "search OTRS for a ticket already recording the room (roomDynamicField), create the ticket with the transcript",
  },
  "POST /otrs/notifications": {
    calls: 2,
    why: "read the ticket (who wrote, the body, its queue for the rules), post the message",
  },
};
