// Starts GraphiQL (bundles served by the gateway, see playground.go). The editor starts with the
// registry's example query, or the ?query= (and ?variables=) of the page's URL: the feature
// catalog links here with the query of each feature.
(function () {
  "use strict";
  var cfg = JSON.parse(document.getElementById("featuregraph-config").textContent);
  var params = new URLSearchParams(window.location.search);
  var props = {
    fetcher: GraphiQL.createFetcher({ url: cfg.endpoint }),
    defaultQuery: cfg.defaultQuery,
    defaultEditorToolsVisibility: true,
  };
  if (params.has("query")) props.query = params.get("query");
  if (params.has("variables")) props.variables = params.get("variables");
  ReactDOM.createRoot(document.getElementById("graphiql")).render(React.createElement(GraphiQL, props));
})();
