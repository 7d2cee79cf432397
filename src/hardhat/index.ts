/**
 * `sibyl/hardhat`: Sibyl in a dapp developer's Hardhat 3 tests. `startSibyl(connection)` deploys the
 * stack from the package's precompiled artifacts and runs the real node in process; `mockSibyl` answers
 * requests on demand with chosen outputs, with no node and no proof, for fast unit tests of a consumer.
 */
export { type MockFulfillOptions, mockSibyl, type SibylMock } from "./mockSibyl.js";
export { type SibylFixture, type StartSibylOptions, startSibyl } from "./startSibyl.js";
