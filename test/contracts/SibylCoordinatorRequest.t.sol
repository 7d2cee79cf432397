// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {IOperatorLedger} from "../../contracts/interfaces/IOperatorLedger.sol";
import {ISibylCoordinator} from "../../contracts/interfaces/ISibylCoordinator.sol";
import {Model, RequestCommitment} from "../../contracts/interfaces/SibylTypes.sol";
import {CoordinatorFixture} from "./utils/CoordinatorFixture.sol";
import {Vm} from "./utils/Vm.sol";

contract SibylCoordinatorRequestTest is CoordinatorFixture {
    function test_estimateFee_coversALoneDeliveryAtTheGivenPriceOrFloor() public view {
        // A lone delivery, and its leaf's share of a later proof when delivered without one.
        uint256 loneGas =
            uint256(DELIVERY_GAS) + PROOF_GAS_PER_LEAF + uint256(GAS_PER_OUTPUT_BYTE) * MAX_OUTPUT;
        assertEq(
            coordinator.estimateFee(MODEL_ID, 100_000, 0),
            MODEL_FEE + (100_000 + loneGas) * MIN_GAS_PRICE,
            "floor"
        );
        assertEq(coordinator.estimateFee(MODEL_ID, 0, 30 gwei), MODEL_FEE + loneGas * 30 gwei, "given price");
    }

    function test_estimateFee_unknownModel() public {
        vm.expectRevert(abi.encodeWithSelector(ISibylCoordinator.UnknownModel.selector, bytes32("nope")));
        coordinator.estimateFee("nope", 0, 1 gwei);
    }

    function test_request_storesCommitmentAndEmitsFullData() public {
        uint256 idBefore = coordinator.nextRequestId();
        uint256 escrow = _escrowNow(50_000);
        vm.recordLogs();
        vm.prank(requester);
        uint256 requestId = coordinator.request{value: escrow}(MODEL_ID, "hello", 50_000, requester);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        assertEq(requestId, idBefore, "sequential id");
        assertEq(coordinator.nextRequestId(), idBefore + 1, "next id");
        assertEq(logs.length, 1, "one event");
        assertEq(logs[0].topics[0], ISibylCoordinator.InferenceRequested.selector, "event");
        assertEq(uint256(logs[0].topics[1]), requestId, "indexed id");
        assertEq(logs[0].topics[2], MODEL_ID, "indexed model");
        assertEq(address(uint160(uint256(logs[0].topics[3]))), requester, "indexed requester");
        (RequestCommitment memory commitment, bytes memory input) = abi.decode(
            logs[0].data,
            (RequestCommitment, bytes)
        );
        assertEq(commitment.requestId, requestId, "emitted id");
        assertEq(commitment.inputHash, keccak256("hello"), "emitted input hash");
        assertEq(commitment.escrow, escrow, "emitted escrow");
        assertEq(commitment.callbackGasLimit, 50_000, "emitted callback gas");
        assertEq(input, "hello", "emitted input");
        assertEq(coordinator.commitmentOf(requestId), keccak256(abi.encode(commitment)), "stored hash");
    }

    function test_request_recordsAssignmentRefundAddressAndWindow() public {
        address payee = address(0xFEE);
        uint256 escrow = _escrowNow(50_000);
        RequestCommitment memory commitment = _requestWith(requester, "hi", 50_000, escrow, payee);
        assertEq(commitment.requester, requester, "requester");
        assertEq(commitment.refundTo, payee, "refund address");
        assertEq(commitment.operator, operator, "the only active operator");
        assertEq(commitment.deadline, block.timestamp + TIMEOUT, "deadline");
        assertEq(commitment.exclusiveUntil, block.timestamp + EXCLUSIVE_WINDOW, "exclusive window");
        assertEq(commitment.maxOutputBytes, MAX_OUTPUT, "output cap");
    }

    function test_request_escrowsAllOfMsgValueAndCreditsNothingYet() public {
        uint256 escrow = _escrowNow(0) + 123;
        RequestCommitment memory commitment = _requestWith(requester, "hi", 0, escrow, requester);
        assertEq(commitment.escrow, escrow, "whole payment escrowed");
        assertEq(coordinator.balanceOf(requester), 0, "nothing credited at request time");
        assertEq(address(coordinator).balance, escrow, "all ether held");
        assertEq(address(ledger).balance, MIN_STAKE, "the ledger holds the stake alone");
    }

    function test_request_escrowAtTheBlockBaseFee() public {
        vm.fee(50 gwei);
        uint256 needed = coordinator.estimateFee(MODEL_ID, 100_000, 50 gwei);
        vm.expectRevert(
            abi.encodeWithSelector(ISibylCoordinator.InsufficientPayment.selector, needed - 1, needed)
        );
        vm.prank(requester);
        coordinator.request{value: needed - 1}(MODEL_ID, "hi", 100_000, requester);
        RequestCommitment memory commitment = _requestWith(requester, "hi", 100_000, needed, requester);
        assertEq(commitment.escrow, needed, "the quote at 50 gwei is enough");
    }

    function test_request_zeroRefundAddress() public {
        vm.expectRevert(ISibylCoordinator.InvalidRefundAddress.selector);
        vm.prank(requester);
        coordinator.request{value: 1 ether}(MODEL_ID, "hi", 0, address(0));
    }

    function test_request_unknownModel() public {
        vm.expectRevert(abi.encodeWithSelector(ISibylCoordinator.UnknownModel.selector, bytes32("nope")));
        vm.prank(requester);
        coordinator.request{value: 1 ether}("nope", "hi", 0, requester);
    }

    function test_request_disabledModel() public {
        Model memory model = _model();
        model.enabled = false;
        coordinator.updateModel(MODEL_ID, model);
        vm.expectRevert(abi.encodeWithSelector(ISibylCoordinator.ModelDisabled.selector, MODEL_ID));
        vm.prank(requester);
        coordinator.request{value: 1 ether}(MODEL_ID, "hi", 0, requester);
    }

    function test_request_emptyInput() public {
        vm.expectRevert(abi.encodeWithSelector(ISibylCoordinator.EmptyInput.selector, MODEL_ID));
        vm.prank(requester);
        coordinator.request{value: 1 ether}(MODEL_ID, "", 0, requester);
    }

    function test_request_inputTooLarge() public {
        bytes memory input = new bytes(MAX_INPUT + 1);
        vm.expectRevert(
            abi.encodeWithSelector(
                ISibylCoordinator.InputTooLarge.selector,
                MODEL_ID,
                MAX_INPUT + 1,
                MAX_INPUT
            )
        );
        vm.prank(requester);
        coordinator.request{value: 1 ether}(MODEL_ID, input, 0, requester);
    }

    function test_request_callbackGasAboveCap() public {
        vm.expectRevert(
            abi.encodeWithSelector(
                ISibylCoordinator.CallbackGasLimitTooHigh.selector,
                MAX_CALLBACK_GAS + 1,
                MAX_CALLBACK_GAS
            )
        );
        vm.prank(requester);
        coordinator.request{value: 1 ether}(MODEL_ID, "hi", MAX_CALLBACK_GAS + 1, requester);
    }

    function test_request_underpaid() public {
        uint256 fee = _escrowNow(0);
        vm.expectRevert(abi.encodeWithSelector(ISibylCoordinator.InsufficientPayment.selector, fee - 1, fee));
        vm.prank(requester);
        coordinator.request{value: fee - 1}(MODEL_ID, "hi", 0, requester);
    }

    function test_request_noActiveOperator() public {
        vm.prank(operator);
        ledger.requestOperatorExit();
        vm.expectRevert(abi.encodeWithSelector(IOperatorLedger.NoOperatorForModel.selector, MODEL_ID));
        vm.prank(requester);
        coordinator.request{value: 1 ether}(MODEL_ID, "hi", 0, requester);
    }

    function test_request_paused() public {
        coordinator.pause();
        vm.expectRevert(Pausable.EnforcedPause.selector);
        vm.prank(requester);
        coordinator.request{value: 1 ether}(MODEL_ID, "hi", 0, requester);
        coordinator.unpause();
        _request(requester, "hi", 0);
    }

    function test_cancel_refundsTheWholeEscrowToRefundToWhoeverCalls() public {
        address payee = address(0xFEE);
        RequestCommitment memory commitment = _requestWith(requester, "hi", 0, _escrowNow(0) + 7, payee);
        vm.warp(commitment.deadline + 1);
        vm.recordLogs();
        vm.prank(address(0xBEEF));
        coordinator.cancel(commitment);
        assertEq(coordinator.balanceOf(payee), commitment.escrow, "whole escrow to refundTo");
        assertEq(coordinator.balanceOf(requester), 0, "nothing to the requester");
        assertEq(coordinator.balanceOf(address(0xBEEF)), 0, "nothing to the caller");
        assertEq(coordinator.commitmentOf(commitment.requestId), bytes32(0), "retired");
        Vm.Log[] memory logs = vm.getRecordedLogs();
        assertEq(logs[0].topics[0], ISibylCoordinator.RequestCancelled.selector, "cancel event first");
        assertEq(address(uint160(uint256(logs[0].topics[2]))), payee, "event names refundTo");
        assertEq(abi.decode(logs[0].data, (uint256)), commitment.escrow, "event carries the refund");
    }

    function test_cancel_byTheRequesterStillRefundsRefundTo() public {
        address payee = address(0xFEE);
        RequestCommitment memory commitment = _requestWith(requester, "hi", 0, _escrowNow(0), payee);
        vm.warp(commitment.deadline + 1);
        vm.prank(requester);
        coordinator.cancel(commitment);
        assertEq(coordinator.balanceOf(payee), commitment.escrow, "refundTo credited");
        assertEq(coordinator.balanceOf(requester), 0, "the caller gets nothing");
    }

    function test_cancel_refundToCannotBeRewritten() public {
        RequestCommitment memory commitment = _requestWith(requester, "hi", 0, _escrowNow(0), requester);
        vm.warp(commitment.deadline + 1);
        commitment.refundTo = address(0xBEEF);
        vm.expectRevert(
            abi.encodeWithSelector(ISibylCoordinator.CommitmentMismatch.selector, commitment.requestId)
        );
        vm.prank(address(0xBEEF));
        coordinator.cancel(commitment);
    }

    function test_cancel_worksWhilePaused() public {
        RequestCommitment memory commitment = _request(requester, "hi", 0);
        coordinator.pause();
        vm.warp(commitment.deadline + 1);
        coordinator.cancel(commitment);
        assertEq(coordinator.balanceOf(requester), commitment.escrow, "refund while paused");
    }

    function test_cancel_beforeDeadline() public {
        RequestCommitment memory commitment = _request(requester, "hi", 0);
        vm.warp(commitment.deadline);
        vm.expectRevert(
            abi.encodeWithSelector(
                ISibylCoordinator.RequestNotExpired.selector,
                commitment.requestId,
                commitment.deadline
            )
        );
        coordinator.cancel(commitment);
    }

    function test_cancel_twice() public {
        RequestCommitment memory commitment = _request(requester, "hi", 0);
        vm.warp(commitment.deadline + 1);
        coordinator.cancel(commitment);
        vm.expectRevert(
            abi.encodeWithSelector(ISibylCoordinator.RequestNotPending.selector, commitment.requestId)
        );
        coordinator.cancel(commitment);
    }

    function test_cancel_tamperedCommitment() public {
        RequestCommitment memory commitment = _request(requester, "hi", 0);
        vm.warp(commitment.deadline + 1);
        commitment.escrow += 1;
        vm.expectRevert(
            abi.encodeWithSelector(ISibylCoordinator.CommitmentMismatch.selector, commitment.requestId)
        );
        coordinator.cancel(commitment);
    }
}
