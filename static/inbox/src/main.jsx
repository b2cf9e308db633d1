// Entry of the agent inbox bundle (static/dist/inbox.js + inbox.css).
import { render } from "preact";
import "./styles/inbox.css";
import "./channels/index.js";
import { App } from "./components/App.jsx";

render(<App />, document.getElementById("app"));
