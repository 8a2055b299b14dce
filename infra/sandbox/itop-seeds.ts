/**
 * The people, organisations, teams and services of the two sandbox iTops (a customer's "external" one
 * and its provider's "internal" one), shared by the tests and `npm start`: the ids match the
 * `integrations.itopPair.defaults` of config/sandbox.json.
 */
export const ITOP_SEEDS = {
  external: {
    organizations: [{ id: 1, name: "PT Pelanggan Sejahtera" }],
    persons: [
      { id: 1, name: "Santoso", first_name: "Budi", email: "budi@pelanggan.example", org_id: 1 },
      { id: 2, name: "Provider Desk", first_name: "Elitery", email: "desk@elitery.example", org_id: 1 },
    ],
    teams: [{ id: 1, name: "Customer IT" }],
    services: [{ id: 1, name: "Email" }],
  },
  internal: {
    organizations: [
      { id: 1, name: "Elitery" },
      { id: 2, name: "PT Pelanggan Sejahtera (managed)" },
    ],
    persons: [
      { id: 1, name: "Wijaya", first_name: "Rina", email: "rina@elitery.example", org_id: 1 },
      { id: 2, name: "Pelanggan", first_name: "Kontak", email: "kontak@pelanggan.example", org_id: 2 },
    ],
    teams: [{ id: 1, name: "Service Desk" }],
    services: [{ id: 1, name: "Managed Email" }],
  },
} as const;
