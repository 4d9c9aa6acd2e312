// Starts GraphiQL (served by this API, like React: nothing comes from the
// internet) against this API's /graphql: queries and mutations over HTTP,
// subscriptions over WebSocket (graphql-transport-ws). Headers typed in the
// Headers tab, such as {"Authorization": "Bearer <token>"}, go with HTTP
// requests and in the socket's connection_init payload. They are not
// persisted: a token never lands in localStorage.
/* global React, ReactDOM, GraphiQL */
"use strict";

(function start() {
  const endpoint = "/graphql";
  const wsProtocol = location.protocol === "https:" ? "wss:" : "ws:";
  const fetcher = GraphiQL.createFetcher({
    url: location.protocol + "//" + location.host + endpoint,
    subscriptionUrl: wsProtocol + "//" + location.host + endpoint,
  });
  const defaultQuery = [
    "# Sign in with POST /auth/login, then put",
    '#   {"Authorization": "Bearer <access_token>"}',
    "# in the Headers tab below and run one of these:",
    "",
    "query Latest {",
    "  getNotifications(first: 20) { id type title message amount reference accountNumber read createdAt }",
    "}",
    "",
    "subscription Live {",
    "  notificationAdded { id type title message amount reference accountNumber createdAt }",
    "}",
    "",
  ].join("\n");
  const root = ReactDOM.createRoot(document.getElementById("graphiql"));
  root.render(React.createElement(GraphiQL, {
    fetcher,
    defaultQuery,
    defaultHeaders: '{"Authorization": "Bearer <access_token>"}',
    isHeadersEditorEnabled: true,
    shouldPersistHeaders: false,
    inputValueDeprecation: true,
  }));
})();
