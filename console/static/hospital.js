import { show, start } from "./console.js";

start(() => show("home-screen"));
