// Approvals: a placeholder until tool-call approvals exist (the page says so).
"use strict";

Doorman.pages.approvals = async () => {};
