/**
 * The sandbox RT and Kanboard of the RT → Kanban integration, shared by the tests and `npm start`: the
 * queue names, custom field and board columns match `integrations.rtKanban` in config/sandbox.json.
 */
export const RT_SEEDS = {
  queues: [
    { id: 1, name: "General" },
    { id: 2, name: "Helpdesk" },
    { id: 3, name: "HR" },
    { id: 4, name: "Facilities" },
    { id: 5, name: "Legacy" },
  ],
  // The card id lives in FlowIO-id, as in the old setup; it is not applied to "Legacy".
  customFields: [{ id: 1, name: "FlowIO-id", queues: ["General", "Helpdesk", "HR", "Facilities"] }],
  people: [
    { name: "alice", realName: "Alice Agent", email: "alice@example.com" },
    { name: "bob", realName: "Bob Builder", email: "bob@example.com" },
  ],
  /**
   * The bridge user's rights, as the README sets them: it may read every queue but the sensitive one
   * (HR answers it 403), and it may not change ticket fields (only FlowIO-id).
   */
  bridge: { queues: ["General", "Helpdesk", "Facilities", "Legacy"], modifyTicket: false },
};

export const KANBOARD_SEEDS = {
  users: [
    { id: 1, username: "admin", name: "Administrator" },
    { id: 2, username: "alice", name: "Alice Agent" },
  ],
  projects: [{ id: 1, name: "Helpdesk", columns: ["Backlog", "Work in progress", "Waiting", "Done"] }],
};
