/** Cold-start floor of the PingRole function: no AWS client at all. */
export const handler = async () => ({ statusCode: 200, body: "" });
