/** /opt/sbx/install.mjs: the login install alone (see install.ts). */
import { failWith, install } from "./install.js";

try {
  install();
} catch (error) {
  failWith(error);
}
