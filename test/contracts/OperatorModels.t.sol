// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IOperatorLedger} from "../../contracts/interfaces/IOperatorLedger.sol";
import {ISibylCoordinator} from "../../contracts/interfaces/ISibylCoordinator.sol";
import {RequestCommitment} from "../../contracts/interfaces/SibylTypes.sol";
import {SettlementFixture} from "./utils/SettlementFixture.sol";
import {Vm} from "./utils/Vm.sol";

/// @notice Operators declare the models they serve, and only those are drawn for, co-sign or take over
/// a model's requests: nobody can make an operator late on a model it never ran (penalty farming's
/// route c), and one that withdraws a model on a fault is not drawn for it again.
contract OperatorModelsTest is SettlementFixture {
    address internal second = address(0x0B0B);
    bytes32 internal constant OTHER_MODEL = "other-model";

    function setUp() public override {
        super.setUp();
        vm.deal(second, 10 ether);
        vm.prank(second);
        ledger.registerOperator{value: MIN_STAKE}();
        _declare(second, OTHER_MODEL);
    }

    function test_assign_drawsOnlyOperatorsThatDeclaredTheModel() public {
        assertEq(ledger.activeOperators().length, 2, "two active");
        assertEq(ledger.operatorsFor(MODEL_ID).length, 1, "one serves the model");
        for (uint256 i; i < 32; ++i) {
            vm.prevrandao(uint256(keccak256(abi.encode("beacon", i))));
            assertEq(_request(requester, "hi", 0).operator, operator, "never the one that does not serve it");
        }
        _declare(second, MODEL_ID);
        assertTrue(ledger.serves(second, MODEL_ID), "serves it now");
        assertTrue(_drawnWithin(second, 64), "drawn once it declared");
    }

    function test_withdrawModel_stopsTheDraw() public {
        _declare(second, MODEL_ID);
        vm.recordLogs();
        vm.prank(second);
        ledger.withdrawModel(MODEL_ID);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        assertEq(logs.length, 1, "one event");
        assertEq(logs[0].topics[0], IOperatorLedger.ModelWithdrawn.selector, "ModelWithdrawn");
        assertEq(logs[0].topics[2], MODEL_ID, "names the model");
        assertTrue(!ledger.serves(second, MODEL_ID), "no longer serves it");
        assertTrue(ledger.isActive(second), "still active for its other models");
        assertEq(ledger.declaredModels(second).length, 1, "the other model kept");
        assertTrue(!_drawnWithin(second, 32), "not drawn for the withdrawn model");
    }

    function test_declarations_leaveWithTheOperatorAndComeBackWithIt() public {
        _declare(second, MODEL_ID);
        vm.prank(second);
        ledger.requestOperatorExit();
        assertEq(ledger.operatorsFor(MODEL_ID).length, 1, "out of the draw on exit");
        assertEq(ledger.operatorsFor(OTHER_MODEL).length, 0, "out of every model's draw");
        assertTrue(!ledger.serves(second, MODEL_ID), "an inactive operator serves nothing");
        vm.prank(second);
        ledger.registerOperator();
        assertTrue(ledger.serves(second, MODEL_ID) && ledger.serves(second, OTHER_MODEL), "both again");
        assertEq(ledger.operatorsFor(MODEL_ID).length, 2, "back in the draw");
    }

    function test_declareModel_refusesTwiceAndTooMany() public {
        vm.expectRevert(
            abi.encodeWithSelector(IOperatorLedger.ModelAlreadyDeclared.selector, second, OTHER_MODEL)
        );
        vm.prank(second);
        ledger.declareModel(OTHER_MODEL);
        vm.expectRevert(abi.encodeWithSelector(IOperatorLedger.ModelNotDeclared.selector, second, MODEL_ID));
        vm.prank(second);
        ledger.withdrawModel(MODEL_ID);
        uint256 limit = ledger.MAX_MODELS_PER_OPERATOR();
        for (uint256 i = 1; i < limit; ++i) _declare(second, bytes32(i));
        vm.expectRevert(abi.encodeWithSelector(IOperatorLedger.TooManyModels.selector, second, limit));
        vm.prank(second);
        ledger.declareModel(bytes32(limit));
    }

    function test_assign_refusesAModelNobodyServes() public {
        vm.prank(operator);
        ledger.withdrawModel(MODEL_ID);
        uint256 escrow = _escrowNow(0);
        vm.expectRevert(abi.encodeWithSelector(IOperatorLedger.NoOperatorForModel.selector, MODEL_ID));
        vm.prank(requester);
        coordinator.request{value: escrow}(MODEL_ID, "hi", 0, requester);
    }

    /// @dev Taking over means running the model: an operator that does not serve it cannot, by
    /// reassign or by a proven fulfil, and so cannot cost the assignee its penalty.
    function test_takeover_byAnOperatorNotServingTheModelRefused() public {
        RequestCommitment memory late = _request(requester, "hi", 0);
        vm.warp(late.exclusiveUntil + 1);
        RequestCommitment[] memory list = new RequestCommitment[](1);
        list[0] = late;
        vm.expectRevert(abi.encodeWithSelector(ISibylCoordinator.NotServingModel.selector, second, MODEL_ID));
        vm.prank(second);
        coordinator.reassign(list);
        (uint256 newRoot, uint256[8] memory proof) = _prove(_single(_fulfillment(late, "hi")), second);
        vm.expectRevert(abi.encodeWithSelector(ISibylCoordinator.NotServingModel.selector, second, MODEL_ID));
        vm.prank(second);
        coordinator.fulfill(_single(_fulfillment(late, "hi")), newRoot, proof);
        assertEq(ledger.operatorOf(operator).stake, MIN_STAKE, "no penalty taken");
    }

    /// @dev Whether a request is drawn to `account` within `tries` requests.
    function _drawnWithin(address account, uint256 tries) internal returns (bool) {
        for (uint256 i; i < tries; ++i) {
            vm.prevrandao(uint256(keccak256(abi.encode("draw", i))));
            if (_request(requester, "hi", 0).operator == account) return true;
        }
        return false;
    }
}
