// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {YesNoMarket} from "../../../contracts/examples/YesNoMarket.sol";
import {CallbackOutcome, RequestCommitment, ResultStatus} from "../../../contracts/interfaces/SibylTypes.sol";
import {ExamplesFixture} from "./ExamplesFixture.sol";

/// @notice A YesNoMarket on the fixture's model, and the steps of a market's life as helpers.
abstract contract YesNoMarketFixture is ExamplesFixture {
    uint64 internal constant REPORT_WINDOW = 1 days;
    uint64 internal constant RESOLUTION_WINDOW = 2 days;
    bytes internal constant EVIDENCE = "Meteo-France: 4 mm of rain fell in Paris on 1 December.";

    YesNoMarket internal market;
    address internal reporter = address(0x4E9047);

    function setUp() public virtual override {
        super.setUp();
        market = new YesNoMarket(log, MODEL_ID, REPORT_WINDOW, RESOLUTION_WINDOW);
    }

    /// @dev alice 1 ether yes, bob 3 ether no, carol 1 ether yes.
    function _openMarketWithBets() internal returns (uint256 marketId) {
        marketId = market.create(
            "Will it rain in Paris on 1 December?",
            reporter,
            uint64(block.timestamp + 1 days)
        );
        vm.prank(alice);
        market.bet{value: 1 ether}(marketId, true);
        vm.prank(bob);
        market.bet{value: 3 ether}(marketId, false);
        vm.prank(carol);
        market.bet{value: 1 ether}(marketId, true);
    }

    function _closeAndReport(uint256 marketId) internal {
        vm.warp(market.marketOf(marketId).closesAt);
        vm.prank(reporter);
        market.report(marketId, string(EVIDENCE));
    }

    /// @dev `payer` asks the model to judge the market, escrowing the least it takes now.
    function _resolveAs(address payer, uint256 marketId) internal returns (RequestCommitment memory) {
        uint256 escrow = market.resolveEscrow();
        _recordRequest();
        vm.prank(payer);
        market.resolve{value: escrow}(marketId);
        return _requestedCommitment();
    }

    /// @dev Opens, bets, reports, and delivers `answer` to carol's resolution request.
    function _settleWith(ResultStatus status, bytes memory answer) internal returns (uint256 marketId) {
        marketId = _openMarketWithBets();
        _closeAndReport(marketId);
        (CallbackOutcome callback, ) = _deliver(_resolveAs(carol, marketId), status, answer);
        assertTrue(callback == CallbackOutcome.Succeeded, "the callback never fails");
    }

    function _claim(address account, uint256 marketId) internal returns (uint256 paid) {
        uint256 before = account.balance;
        vm.prank(account);
        market.claim(marketId);
        return account.balance - before;
    }

    function _assertVoidedAndEveryStakeBack(uint256 marketId, YesNoMarket.VoidReason reason) internal {
        assertTrue(market.marketOf(marketId).phase == YesNoMarket.Phase.Voided, "voided");
        assertEq(uint8(market.marketOf(marketId).voidReason), uint8(reason), "void reason");
        assertEq(_claim(alice, marketId), 1 ether, "alice's stake back");
        assertEq(_claim(bob, marketId), 3 ether, "bob's stake back");
        assertEq(_claim(carol, marketId), 1 ether, "carol's stake back");
        assertEq(address(market).balance, 0, "nothing left locked");
    }
}
