#!/usr/bin/env node
// placeholder: native build arrives with the addon

